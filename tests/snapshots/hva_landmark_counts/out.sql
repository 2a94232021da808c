-- 1: query
SELECT
  COUNT(*) AS "_n",
  MAX("t2"."observed_days") AS "_obs"
FROM (
  SELECT
    *
  FROM (
    SELECT
      "t0"."member_id",
      "t0"."signup_at",
      "t0"."ended_at",
      "t0"."channel",
      "t0"."country",
      "t0"."plan",
      "t0"."age_band",
      "t0"."fee",
      CAST(FLOOR(
        (
          EPOCH(
            CAST(CASE
              WHEN (
                "t0"."ended_at" IS NOT NULL
              )
              AND (
                "t0"."ended_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
              )
              THEN "t0"."ended_at"
              ELSE MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
            END AS TIMESTAMP)
          ) - EPOCH(CAST("t0"."signup_at" AS TIMESTAMP))
        ) / (
          86400
        )
      ) AS BIGINT) AS "tenure_days",
      CAST((
        "t0"."ended_at" IS NOT NULL
      )
      AND (
        "t0"."ended_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
      ) AS BIGINT) AS "ended",
      CAST(FLOOR(
        (
          EPOCH(CAST(MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC') AS TIMESTAMP)) - EPOCH(CAST("t0"."signup_at" AS TIMESTAMP))
        ) / (
          86400
        )
      ) AS BIGINT) AS "observed_days"
    FROM "members" AS "t0"
    WHERE
      "t0"."signup_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
  ) AS "t1"
  WHERE
    "t1"."tenure_days" >= 7 AND "t1"."observed_days" >= 7
) AS "t2";

-- 2: cache temp.main.cached_0
SELECT
  "t6"."member_id",
  "t6"."action",
  "t6"."_b",
  SUM(CAST("t6"."_in" AS BIGINT)) AS "n",
  SUM(CAST("t6"."_in" AND (
    "t6"."ts" < "t6"."day1_end"
  ) AS BIGINT)) AS "n0",
  SUM(CAST("t6"."_in" AND (
    "t6"."ts" < "t6"."d1_end"
  ) AS BIGINT)) AS "n1",
  BOOL_OR(CAST("t6"."_in" AND (
    "t6"."ts" < "t6"."early_end"
  ) AS BOOLEAN)) AS "early",
  MIN(
    CASE
      WHEN "t6"."_in"
      THEN CAST(FLOOR(
        (
          EPOCH(CAST("t6"."ts" AS TIMESTAMP)) - EPOCH(CAST("t6"."signup_at" AS TIMESTAMP))
        ) / (
          86400
        )
      ) AS BIGINT)
      ELSE 7
    END
  ) AS "first",
  SUM(CAST(NOT (
    "t6"."_in"
  ) AS BIGINT)) AS "pre"
FROM (
  SELECT
    "t5"."member_id",
    "t5"."ts",
    "t5"."action",
    "t5"."benefit",
    "t5"."value",
    "t5"."signup_at",
    "t5"."window_end",
    "t5"."day1_end",
    "t5"."d1_end",
    "t5"."early_end",
    "t5"."benefit" AS "_b",
    "t5"."ts" >= "t5"."signup_at" AS "_in"
  FROM (
    SELECT
      "t2"."member_id",
      "t2"."ts",
      "t2"."action",
      "t2"."benefit",
      "t2"."value",
      "t4"."signup_at",
      "t4"."window_end",
      "t4"."day1_end",
      "t4"."d1_end",
      "t4"."early_end"
    FROM "events" AS "t2"
    INNER JOIN (
      SELECT
        "t1"."member_id",
        "t1"."signup_at",
        "t1"."signup_at" + INTERVAL '7' DAY AS "window_end",
        "t1"."signup_at" + INTERVAL '7' DAY AS "day1_end",
        "t1"."signup_at" + INTERVAL '1' DAY AS "d1_end",
        "t1"."signup_at" + INTERVAL '1' DAY AS "early_end"
      FROM "members" AS "t1"
      WHERE
        "t1"."signup_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
    ) AS "t4"
      ON "t2"."member_id" = "t4"."member_id"
  ) AS "t5"
  WHERE
    "t5"."ts" < "t5"."window_end"
) AS "t6"
GROUP BY
  1,
  2,
  3;

-- 3: cache temp.main.cached_1
SELECT
  "t7"."member_id",
  "t7"."signup_at",
  "t7"."ended_at",
  "t7"."channel",
  "t7"."country",
  "t7"."plan",
  "t7"."age_band",
  "t7"."fee",
  "t7"."tenure_days",
  "t7"."ended",
  "t7"."observed_days",
  COALESCE("t7"."_d0", 0) AS "_d0",
  COALESCE("t7"."_d0nb", 0) AS "_d0nb",
  COALESCE("t7"."_d1", 0) AS "_d1",
  COALESCE("t7"."_d1nb", 0) AS "_d1nb",
  COALESCE("t7"."_pre", 0) AS "_pre"
FROM (
  SELECT
    "t6"."member_id",
    "t6"."signup_at",
    "t6"."ended_at",
    "t6"."channel",
    "t6"."country",
    "t6"."plan",
    "t6"."age_band",
    "t6"."fee",
    "t6"."tenure_days",
    "t6"."ended",
    "t6"."observed_days",
    "t3"."_d0",
    "t3"."_d0nb",
    "t3"."_d1",
    "t3"."_d1nb",
    "t3"."_pre"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t0"."member_id",
        "t0"."signup_at",
        "t0"."ended_at",
        "t0"."channel",
        "t0"."country",
        "t0"."plan",
        "t0"."age_band",
        "t0"."fee",
        CAST(FLOOR(
          (
            EPOCH(
              CAST(CASE
                WHEN (
                  "t0"."ended_at" IS NOT NULL
                )
                AND (
                  "t0"."ended_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
                )
                THEN "t0"."ended_at"
                ELSE MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
              END AS TIMESTAMP)
            ) - EPOCH(CAST("t0"."signup_at" AS TIMESTAMP))
          ) / (
            86400
          )
        ) AS BIGINT) AS "tenure_days",
        CAST((
          "t0"."ended_at" IS NOT NULL
        )
        AND (
          "t0"."ended_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
        ) AS BIGINT) AS "ended",
        CAST(FLOOR(
          (
            EPOCH(CAST(MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC') AS TIMESTAMP)) - EPOCH(CAST("t0"."signup_at" AS TIMESTAMP))
          ) / (
            86400
          )
        ) AS BIGINT) AS "observed_days"
      FROM "members" AS "t0"
      WHERE
        "t0"."signup_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
    ) AS "t4"
    WHERE
      "t4"."tenure_days" >= 7 AND "t4"."observed_days" >= 7
  ) AS "t6"
  LEFT OUTER JOIN (
    SELECT
      "t1"."member_id",
      SUM("t1"."n0") AS "_d0",
      SUM("t1"."n0" * CAST("t1"."_b" IS NULL AS BIGINT)) AS "_d0nb",
      SUM("t1"."n1") AS "_d1",
      SUM("t1"."n1" * CAST("t1"."_b" IS NULL AS BIGINT)) AS "_d1nb",
      SUM("t1"."pre") AS "_pre"
    FROM "temp"."main"."cached_0" AS "t1"
    GROUP BY
      1
  ) AS "t3"
    ON "t6"."member_id" = "t3"."member_id"
) AS "t7";

-- 4: query
SELECT
  COUNT(DISTINCT "t0"."channel") AS "channel",
  COUNT(DISTINCT "t0"."country") AS "country",
  COUNT(DISTINCT "t0"."plan") AS "plan",
  COUNT(DISTINCT "t0"."age_band") AS "age_band",
  COUNT(DISTINCT "t0"."fee") AS "fee"
FROM "temp"."main"."cached_1" AS "t0";

-- 5: query
SELECT DISTINCT
  COALESCE("t0"."channel", '(missing)') AS "channel"
FROM "temp"."main"."cached_1" AS "t0";

-- 6: query
SELECT DISTINCT
  COALESCE("t0"."country", '(missing)') AS "country"
FROM "temp"."main"."cached_1" AS "t0";

-- 7: query
SELECT DISTINCT
  COALESCE("t0"."plan", '(missing)') AS "plan"
FROM "temp"."main"."cached_1" AS "t0";

-- 8: query
SELECT DISTINCT
  COALESCE("t0"."age_band", '(missing)') AS "age_band"
FROM "temp"."main"."cached_1" AS "t0";

-- 9: query
SELECT DISTINCT
  COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') AS "fee"
FROM "temp"."main"."cached_1" AS "t0";

-- 10: query
SELECT
  "t0"."_pre",
  COUNT(*) AS "_k"
FROM "temp"."main"."cached_1" AS "t0"
GROUP BY
  1;

-- 11: query
SELECT
  "t0"."_d0",
  COUNT(*) AS "_k"
FROM "temp"."main"."cached_1" AS "t0"
GROUP BY
  1;

-- 12: query
SELECT
  "t0"."_d1",
  COUNT(*) AS "_k"
FROM "temp"."main"."cached_1" AS "t0"
GROUP BY
  1;

-- 13: cache temp.main.cached_2
SELECT
  "t0"."member_id",
  0 + (
    CAST(CASE
      WHEN COALESCE("t0"."channel", '(missing)') = 'organic'
      THEN 0
      WHEN COALESCE("t0"."channel", '(missing)') = 'paid'
      THEN 1
      WHEN COALESCE("t0"."channel", '(missing)') = 'referral'
      THEN 2
      ELSE 0
    END AS BIGINT) * 1
  ) + (
    CAST(CASE
      WHEN COALESCE("t0"."country", '(missing)') = 'DE'
      THEN 0
      WHEN COALESCE("t0"."country", '(missing)') = 'GB'
      THEN 1
      WHEN COALESCE("t0"."country", '(missing)') = 'US'
      THEN 2
      ELSE 0
    END AS BIGINT) * 3
  ) + (
    CAST(CASE
      WHEN COALESCE("t0"."plan", '(missing)') = 'annual'
      THEN 0
      WHEN COALESCE("t0"."plan", '(missing)') = 'monthly'
      THEN 1
      ELSE 0
    END AS BIGINT) * 9
  ) + (
    CAST(CASE
      WHEN COALESCE("t0"."age_band", '(missing)') = '18-34'
      THEN 0
      WHEN COALESCE("t0"."age_band", '(missing)') = '35-54'
      THEN 1
      WHEN COALESCE("t0"."age_band", '(missing)') = '55+'
      THEN 2
      ELSE 0
    END AS BIGINT) * 18
  ) + (
    CAST(CASE
      WHEN COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') = '12.99'
      THEN 0
      WHEN COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') = '14.99'
      THEN 1
      WHEN COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') = '8.99'
      THEN 2
      ELSE 0
    END AS BIGINT) * 54
  ) + (
    (
      0 + CAST("t0"."_d0" >= 1.0 AS BIGINT) + CAST("t0"."_d0" >= 2.0 AS BIGINT) + CAST("t0"."_d0" >= 3.0 AS BIGINT) + CAST("t0"."_d0" >= 4.0 AS BIGINT) + CAST("t0"."_d0" >= 5.0 AS BIGINT) + CAST("t0"."_d0" >= 6.0 AS BIGINT) + CAST("t0"."_d0" >= 7.0 AS BIGINT)
    ) * 162
  ) + (
    (
      0 + CAST("t0"."_d1" >= 1.0 AS BIGINT) + CAST("t0"."_d1" >= 2.0 AS BIGINT)
    ) * 1296
  ) AS "sid",
  0 + (
    CAST(CASE
      WHEN COALESCE("t0"."channel", '(missing)') = 'organic'
      THEN 0
      WHEN COALESCE("t0"."channel", '(missing)') = 'paid'
      THEN 1
      WHEN COALESCE("t0"."channel", '(missing)') = 'referral'
      THEN 2
      ELSE 0
    END AS BIGINT) * 1
  ) + (
    CAST(CASE
      WHEN COALESCE("t0"."country", '(missing)') = 'DE'
      THEN 0
      WHEN COALESCE("t0"."country", '(missing)') = 'GB'
      THEN 1
      WHEN COALESCE("t0"."country", '(missing)') = 'US'
      THEN 2
      ELSE 0
    END AS BIGINT) * 3
  ) + (
    CAST(CASE
      WHEN COALESCE("t0"."plan", '(missing)') = 'annual'
      THEN 0
      WHEN COALESCE("t0"."plan", '(missing)') = 'monthly'
      THEN 1
      ELSE 0
    END AS BIGINT) * 9
  ) + (
    CAST(CASE
      WHEN COALESCE("t0"."age_band", '(missing)') = '18-34'
      THEN 0
      WHEN COALESCE("t0"."age_band", '(missing)') = '35-54'
      THEN 1
      WHEN COALESCE("t0"."age_band", '(missing)') = '55+'
      THEN 2
      ELSE 0
    END AS BIGINT) * 18
  ) + (
    CAST(CASE
      WHEN COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') = '12.99'
      THEN 0
      WHEN COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') = '14.99'
      THEN 1
      WHEN COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') = '8.99'
      THEN 2
      ELSE 0
    END AS BIGINT) * 54
  ) + (
    (
      0 + CAST("t0"."_d0nb" >= 1.0 AS BIGINT) + CAST("t0"."_d0nb" >= 2.0 AS BIGINT) + CAST("t0"."_d0nb" >= 3.0 AS BIGINT) + CAST("t0"."_d0nb" >= 4.0 AS BIGINT) + CAST("t0"."_d0nb" >= 5.0 AS BIGINT) + CAST("t0"."_d0nb" >= 6.0 AS BIGINT) + CAST("t0"."_d0nb" >= 7.0 AS BIGINT)
    ) * 162
  ) + (
    (
      0 + CAST("t0"."_d1nb" >= 1.0 AS BIGINT) + CAST("t0"."_d1nb" >= 2.0 AS BIGINT)
    ) * 1296
  ) AS "sid_nb",
  "t0"."_d0" AS "d0",
  "t0"."_d1" AS "d1",
  CAST("t0"."observed_days" >= 90 AS BIGINT) AS "obs_h",
  CAST("t0"."tenure_days" >= 90 AS BIGINT) AS "retained",
  LEAST("t0"."tenure_days", 90) - 7 AS "t",
  CAST((
    "t0"."ended" = 1
  ) AND (
    "t0"."tenure_days" < 90
  ) AS BIGINT) AS "event",
  0 AS "seg"
FROM "temp"."main"."cached_1" AS "t0";

-- 14: query
SELECT DISTINCT
  "t0"."action",
  "t0"."_b"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."n" > 0 AND "t0"."_b" IS NOT NULL;

-- 15: cache temp.main.cached_3
SELECT
  "t6"."member_id",
  "t3"."a",
  "t6"."n",
  "t6"."n0",
  "t6"."n1",
  "t6"."early",
  "t6"."first",
  "t4"."sid",
  "t4"."sid_nb",
  "t4"."d0",
  "t4"."d1",
  "t4"."obs_h",
  "t4"."retained",
  "t4"."t",
  "t4"."event",
  "t4"."seg",
  0 + CAST("t6"."n" >= 2 AS BIGINT) + CAST("t6"."n" >= 3 AS BIGINT) + CAST("t6"."n" >= 5 AS BIGINT) AS "level",
  "t4"."sid" + (
    (
      (
        0 + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 1.0 AS BIGINT) + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 2.0 AS BIGINT) + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 3.0 AS BIGINT) + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 4.0 AS BIGINT) + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 5.0 AS BIGINT) + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 6.0 AS BIGINT) + CAST((
          "t4"."d0" - "t6"."n0"
        ) >= 7.0 AS BIGINT)
      ) - (
        0 + CAST("t4"."d0" >= 1.0 AS BIGINT) + CAST("t4"."d0" >= 2.0 AS BIGINT) + CAST("t4"."d0" >= 3.0 AS BIGINT) + CAST("t4"."d0" >= 4.0 AS BIGINT) + CAST("t4"."d0" >= 5.0 AS BIGINT) + CAST("t4"."d0" >= 6.0 AS BIGINT) + CAST("t4"."d0" >= 7.0 AS BIGINT)
      )
    ) * 162
  ) + (
    (
      (
        0 + CAST((
          "t4"."d1" - "t6"."n1"
        ) >= 1.0 AS BIGINT) + CAST((
          "t4"."d1" - "t6"."n1"
        ) >= 2.0 AS BIGINT)
      ) - (
        0 + CAST("t4"."d1" >= 1.0 AS BIGINT) + CAST("t4"."d1" >= 2.0 AS BIGINT)
      )
    ) * 1296
  ) AS "sid_a"
FROM (
  SELECT
    *
  FROM "temp"."main"."cached_0" AS "t0"
  WHERE
    "t0"."n" > 0 AND "t0"."_b" IS NOT NULL
) AS "t6"
INNER JOIN "pandas_memtable_4" AS "t3"
  ON "t6"."action" = "t3"."action"
INNER JOIN "temp"."main"."cached_2" AS "t4"
  ON "t6"."member_id" = "t4"."member_id";

-- 16: query
SELECT
  "t0"."sid",
  "t0"."obs_h",
  "t0"."retained",
  COUNT(*) AS "n"
FROM "temp"."main"."cached_2" AS "t0"
GROUP BY
  1,
  2,
  3;

-- 17: query
SELECT
  "t0"."seg",
  "t0"."t",
  "t0"."event",
  COUNT(*) AS "n"
FROM "temp"."main"."cached_2" AS "t0"
GROUP BY
  1,
  2,
  3;

-- 18: query
SELECT
  "t0"."a",
  "t0"."level",
  "t0"."early",
  "t0"."sid",
  "t0"."sid_a",
  "t0"."obs_h",
  "t0"."retained",
  COUNT(*) AS "n"
FROM "temp"."main"."cached_3" AS "t0"
GROUP BY
  1,
  2,
  3,
  4,
  5,
  6,
  7;

-- 19: query
SELECT
  "t0"."a",
  "t0"."level",
  "t0"."early",
  "t0"."seg",
  "t0"."t",
  "t0"."event",
  COUNT(*) AS "n"
FROM "temp"."main"."cached_3" AS "t0"
GROUP BY
  1,
  2,
  3,
  4,
  5,
  6;

-- 20: query
SELECT
  "t6"."i",
  "t6"."j",
  "t6"."sid",
  "t6"."sid_i",
  "t6"."sid_j",
  "t6"."sid_ij",
  "t6"."obs_h",
  "t6"."retained",
  COUNT(*) AS "n"
FROM (
  SELECT
    "t5"."member_id",
    "t5"."sid",
    "t5"."d0",
    "t5"."d1",
    "t5"."obs_h",
    "t5"."retained",
    "t5"."seg",
    "t5"."t",
    "t5"."event",
    "t5"."i",
    "t5"."n0_i",
    "t5"."n1_i",
    "t5"."sid_i",
    "t5"."_m",
    "t5"."j",
    "t5"."n0_j",
    "t5"."n1_j",
    "t5"."sid_j",
    "t5"."sid" + (
      (
        (
          0 + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 1.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 2.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 3.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 4.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 5.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 6.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 7.0 AS BIGINT)
        ) - (
          0 + CAST("t5"."d0" >= 1.0 AS BIGINT) + CAST("t5"."d0" >= 2.0 AS BIGINT) + CAST("t5"."d0" >= 3.0 AS BIGINT) + CAST("t5"."d0" >= 4.0 AS BIGINT) + CAST("t5"."d0" >= 5.0 AS BIGINT) + CAST("t5"."d0" >= 6.0 AS BIGINT) + CAST("t5"."d0" >= 7.0 AS BIGINT)
        )
      ) * 162
    ) + (
      (
        (
          0 + CAST((
            (
              "t5"."d1" - "t5"."n1_i"
            ) - "t5"."n1_j"
          ) >= 1.0 AS BIGINT) + CAST((
            (
              "t5"."d1" - "t5"."n1_i"
            ) - "t5"."n1_j"
          ) >= 2.0 AS BIGINT)
        ) - (
          0 + CAST("t5"."d1" >= 1.0 AS BIGINT) + CAST("t5"."d1" >= 2.0 AS BIGINT)
        )
      ) * 1296
    ) AS "sid_ij"
  FROM (
    SELECT
      "t3"."member_id",
      "t3"."sid",
      "t3"."d0",
      "t3"."d1",
      "t3"."obs_h",
      "t3"."retained",
      "t3"."seg",
      "t3"."t",
      "t3"."event",
      "t3"."i",
      "t3"."n0_i",
      "t3"."n1_i",
      "t3"."sid_i",
      "t4"."_m",
      "t4"."j",
      "t4"."n0_j",
      "t4"."n1_j",
      "t4"."sid_j"
    FROM (
      SELECT
        "t0"."member_id",
        "t0"."sid",
        "t0"."d0",
        "t0"."d1",
        "t0"."obs_h",
        "t0"."retained",
        "t0"."seg",
        "t0"."t",
        "t0"."event",
        "t0"."a" AS "i",
        "t0"."n0" AS "n0_i",
        "t0"."n1" AS "n1_i",
        "t0"."sid_a" AS "sid_i"
      FROM "temp"."main"."cached_3" AS "t0"
      WHERE
        "t0"."early"
    ) AS "t3"
    INNER JOIN (
      SELECT
        "t0"."member_id" AS "_m",
        "t0"."a" AS "j",
        "t0"."n0" AS "n0_j",
        "t0"."n1" AS "n1_j",
        "t0"."sid_a" AS "sid_j"
      FROM "temp"."main"."cached_3" AS "t0"
      WHERE
        "t0"."early"
    ) AS "t4"
      ON "t3"."member_id" = "t4"."_m"
  ) AS "t5"
  WHERE
    "t5"."i" < "t5"."j"
) AS "t6"
GROUP BY
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8;

-- 21: query
SELECT
  "t6"."i",
  "t6"."j",
  "t6"."seg",
  "t6"."t",
  "t6"."event",
  COUNT(*) AS "n"
FROM (
  SELECT
    "t5"."member_id",
    "t5"."sid",
    "t5"."d0",
    "t5"."d1",
    "t5"."obs_h",
    "t5"."retained",
    "t5"."seg",
    "t5"."t",
    "t5"."event",
    "t5"."i",
    "t5"."n0_i",
    "t5"."n1_i",
    "t5"."sid_i",
    "t5"."_m",
    "t5"."j",
    "t5"."n0_j",
    "t5"."n1_j",
    "t5"."sid_j",
    "t5"."sid" + (
      (
        (
          0 + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 1.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 2.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 3.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 4.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 5.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 6.0 AS BIGINT) + CAST((
            (
              "t5"."d0" - "t5"."n0_i"
            ) - "t5"."n0_j"
          ) >= 7.0 AS BIGINT)
        ) - (
          0 + CAST("t5"."d0" >= 1.0 AS BIGINT) + CAST("t5"."d0" >= 2.0 AS BIGINT) + CAST("t5"."d0" >= 3.0 AS BIGINT) + CAST("t5"."d0" >= 4.0 AS BIGINT) + CAST("t5"."d0" >= 5.0 AS BIGINT) + CAST("t5"."d0" >= 6.0 AS BIGINT) + CAST("t5"."d0" >= 7.0 AS BIGINT)
        )
      ) * 162
    ) + (
      (
        (
          0 + CAST((
            (
              "t5"."d1" - "t5"."n1_i"
            ) - "t5"."n1_j"
          ) >= 1.0 AS BIGINT) + CAST((
            (
              "t5"."d1" - "t5"."n1_i"
            ) - "t5"."n1_j"
          ) >= 2.0 AS BIGINT)
        ) - (
          0 + CAST("t5"."d1" >= 1.0 AS BIGINT) + CAST("t5"."d1" >= 2.0 AS BIGINT)
        )
      ) * 1296
    ) AS "sid_ij"
  FROM (
    SELECT
      "t3"."member_id",
      "t3"."sid",
      "t3"."d0",
      "t3"."d1",
      "t3"."obs_h",
      "t3"."retained",
      "t3"."seg",
      "t3"."t",
      "t3"."event",
      "t3"."i",
      "t3"."n0_i",
      "t3"."n1_i",
      "t3"."sid_i",
      "t4"."_m",
      "t4"."j",
      "t4"."n0_j",
      "t4"."n1_j",
      "t4"."sid_j"
    FROM (
      SELECT
        "t0"."member_id",
        "t0"."sid",
        "t0"."d0",
        "t0"."d1",
        "t0"."obs_h",
        "t0"."retained",
        "t0"."seg",
        "t0"."t",
        "t0"."event",
        "t0"."a" AS "i",
        "t0"."n0" AS "n0_i",
        "t0"."n1" AS "n1_i",
        "t0"."sid_a" AS "sid_i"
      FROM "temp"."main"."cached_3" AS "t0"
      WHERE
        "t0"."early"
    ) AS "t3"
    INNER JOIN (
      SELECT
        "t0"."member_id" AS "_m",
        "t0"."a" AS "j",
        "t0"."n0" AS "n0_j",
        "t0"."n1" AS "n1_j",
        "t0"."sid_a" AS "sid_j"
      FROM "temp"."main"."cached_3" AS "t0"
      WHERE
        "t0"."early"
    ) AS "t4"
      ON "t3"."member_id" = "t4"."_m"
  ) AS "t5"
  WHERE
    "t5"."i" < "t5"."j"
) AS "t6"
GROUP BY
  1,
  2,
  3,
  4,
  5;

-- 22: query
SELECT
  "t0"."sid_nb" AS "sid",
  "t0"."obs_h",
  "t0"."retained",
  COUNT(*) AS "n"
FROM "temp"."main"."cached_2" AS "t0"
GROUP BY
  1,
  2,
  3;

-- 23: query
SELECT
  "t2"."level",
  "t2"."sid_nb" AS "sid",
  "t2"."obs_h",
  "t2"."retained",
  COUNT(*) AS "n"
FROM (
  SELECT
    "t1"."member_id",
    "t1"."sid_nb",
    "t1"."obs_h",
    "t1"."retained",
    "t1"."seg",
    "t1"."t",
    "t1"."event",
    "t1"."_nd",
    LEAST("t1"."_nd", 3) AS "level"
  FROM (
    SELECT
      "t0"."member_id",
      "t0"."sid_nb",
      "t0"."obs_h",
      "t0"."retained",
      "t0"."seg",
      "t0"."t",
      "t0"."event",
      COUNT(*) AS "_nd"
    FROM "temp"."main"."cached_3" AS "t0"
    GROUP BY
      1,
      2,
      3,
      4,
      5,
      6,
      7
  ) AS "t1"
) AS "t2"
GROUP BY
  1,
  2,
  3,
  4;

-- 24: query
SELECT
  "t2"."level",
  "t2"."seg",
  "t2"."t",
  "t2"."event",
  COUNT(*) AS "n"
FROM (
  SELECT
    "t1"."member_id",
    "t1"."sid_nb",
    "t1"."obs_h",
    "t1"."retained",
    "t1"."seg",
    "t1"."t",
    "t1"."event",
    "t1"."_nd",
    LEAST("t1"."_nd", 3) AS "level"
  FROM (
    SELECT
      "t0"."member_id",
      "t0"."sid_nb",
      "t0"."obs_h",
      "t0"."retained",
      "t0"."seg",
      "t0"."t",
      "t0"."event",
      COUNT(*) AS "_nd"
    FROM "temp"."main"."cached_3" AS "t0"
    GROUP BY
      1,
      2,
      3,
      4,
      5,
      6,
      7
  ) AS "t1"
) AS "t2"
GROUP BY
  1,
  2,
  3,
  4;
