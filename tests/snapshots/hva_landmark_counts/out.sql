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
          EPOCH_US(
            CASE
              WHEN (
                "t0"."ended_at" IS NOT NULL
              )
              AND (
                "t0"."ended_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
              )
              THEN "t0"."ended_at"
              ELSE MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
            END
          ) - EPOCH_US("t0"."signup_at")
        ) / (
          86400000000
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
          EPOCH_US(MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')) - EPOCH_US("t0"."signup_at")
        ) / (
          86400000000
        )
      ) AS BIGINT) AS "observed_days"
    FROM "members" AS "t0"
    WHERE
      "t0"."signup_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
  ) AS "t1"
  WHERE
    "t1"."tenure_days" >= 7 AND "t1"."observed_days" >= 7
) AS "t2";

-- 2: query
SELECT
  "t0"."member_id",
  "t0"."signup_at"
FROM "members" AS "t0"
WHERE
  "t0"."signup_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC');

-- 3: cache temp.main.cached_0
SELECT
  "t5"."member_id",
  "t5"."signup_at",
  "t5"."ended_at",
  "t5"."channel",
  "t5"."country",
  "t5"."plan",
  "t5"."age_band",
  "t5"."fee",
  "t5"."tenure_days",
  "t5"."ended",
  "t5"."observed_days",
  "t5"."_mi",
  "t5"."_day1",
  "t5"."_day7",
  CAST((
    "t5"."tenure_days" >= 7
  ) AND (
    "t5"."observed_days" >= 7
  ) AS BIGINT) AS "_lm"
FROM (
  SELECT
    "t4"."member_id",
    "t4"."signup_at",
    "t4"."ended_at",
    "t4"."channel",
    "t4"."country",
    "t4"."plan",
    "t4"."age_band",
    "t4"."fee",
    "t4"."tenure_days",
    "t4"."ended",
    "t4"."observed_days",
    "t2"."_mi",
    "t2"."_day1",
    "t2"."_day7"
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
          EPOCH_US(
            CASE
              WHEN (
                "t0"."ended_at" IS NOT NULL
              )
              AND (
                "t0"."ended_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
              )
              THEN "t0"."ended_at"
              ELSE MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
            END
          ) - EPOCH_US("t0"."signup_at")
        ) / (
          86400000000
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
          EPOCH_US(MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')) - EPOCH_US("t0"."signup_at")
        ) / (
          86400000000
        )
      ) AS BIGINT) AS "observed_days"
    FROM "members" AS "t0"
    WHERE
      "t0"."signup_at" <= MAKE_TIMESTAMPTZ(2026, 3, 13, 23, 0, 45.0, 'UTC')
  ) AS "t4"
  INNER JOIN "pyarrow_memtable_1" AS "t2"
    ON "t4"."member_id" = "t2"."member_id"
) AS "t5";

-- 4: cache temp.main.cached_2
SELECT
  "t8"."_mi",
  "t8"."action",
  "t8"."_b",
  "t8"."_c" - "t8"."pre" AS "n",
  "t8"."_c" - "t8"."pre" AS "n0",
  "t8"."n1",
  "t8"."pre",
  "t8"."first_at"
FROM (
  SELECT
    "t7"."_mi",
    "t7"."action",
    "t7"."_b",
    COUNT(*) AS "_c",
    SUM(
      CAST((
        "t7"."ts" >= "t7"."signup_at"
      ) AND (
        "t7"."ts" < "t7"."_day1"
      ) AS BIGINT)
    ) AS "n1",
    SUM(CAST(NOT (
      "t7"."ts" >= "t7"."signup_at"
    ) AS BIGINT)) AS "pre",
    MIN("t7"."ts") FILTER(WHERE
      "t7"."ts" >= "t7"."signup_at") AS "first_at"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t4"."member_id",
        "t4"."ts",
        "t4"."action",
        "t4"."_b",
        "t5"."_mi",
        "t5"."signup_at",
        "t5"."_day1",
        "t5"."_day7"
      FROM (
        SELECT
          "t0"."member_id",
          "t0"."ts",
          "t0"."action",
          "t0"."benefit" AS "_b"
        FROM "events" AS "t0"
      ) AS "t4"
      INNER JOIN (
        SELECT
          "t1"."member_id",
          "t1"."_mi",
          "t1"."signup_at",
          "t1"."_day1",
          "t1"."_day7"
        FROM "temp"."main"."cached_0" AS "t1"
      ) AS "t5"
        ON "t4"."member_id" = "t5"."member_id"
    ) AS "t6"
    WHERE
      "t6"."ts" < "t6"."_day7"
  ) AS "t7"
  GROUP BY
    1,
    2,
    3
) AS "t8";

-- 5: query
SELECT
  COUNT(DISTINCT "t1"."channel") AS "channel",
  COUNT(DISTINCT "t1"."country") AS "country",
  COUNT(DISTINCT "t1"."plan") AS "plan",
  COUNT(DISTINCT "t1"."age_band") AS "age_band",
  COUNT(DISTINCT "t1"."fee") AS "fee"
FROM (
  SELECT
    *
  FROM "temp"."main"."cached_0" AS "t0"
  WHERE
    "t0"."_lm" = 1
) AS "t1";

-- 6: query
SELECT DISTINCT
  COALESCE("t0"."channel", '(missing)') AS "channel"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 7: query
SELECT DISTINCT
  COALESCE("t0"."country", '(missing)') AS "country"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 8: query
SELECT DISTINCT
  COALESCE("t0"."plan", '(missing)') AS "plan"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 9: query
SELECT DISTINCT
  COALESCE("t0"."age_band", '(missing)') AS "age_band"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 10: query
SELECT DISTINCT
  COALESCE(CAST("t0"."fee" AS TEXT), '(missing)') AS "fee"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 11: query
SELECT
  COUNT(*) AS "CountStar(pyarrow_memtable_1)"
FROM "pyarrow_memtable_1" AS "t0";

-- 12: query
SELECT
  "t0"."_mi",
  SUM("t0"."n0") AS "d0",
  SUM(CASE WHEN "t0"."_b" IS NULL THEN "t0"."n0" ELSE 0 END) AS "d0nb",
  SUM("t0"."n1") AS "d1",
  SUM(CASE WHEN "t0"."_b" IS NULL THEN "t0"."n1" ELSE 0 END) AS "d1nb",
  SUM("t0"."pre") AS "pre",
  SUM(CAST((
    "t0"."n" > 0
  ) AND (
    "t0"."_b" IS NOT NULL
  ) AS BIGINT)) AS "uses"
FROM "temp"."main"."cached_2" AS "t0"
GROUP BY
  1;

-- 13: query
SELECT DISTINCT
  "t0"."action",
  "t0"."_b"
FROM "temp"."main"."cached_2" AS "t0"
WHERE
  "t0"."n" > 0 AND "t0"."_b" IS NOT NULL;

-- 14: query
SELECT
  "t0"."_mi"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 15: query
SELECT
  "t0"."_mi",
  "t0"."member_id",
  "t0"."signup_at",
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
  ) AS "_base",
  CAST("t0"."observed_days" >= 90 AS BIGINT) AS "obs_h",
  CAST("t0"."tenure_days" >= 90 AS BIGINT) AS "retained",
  LEAST("t0"."tenure_days", 90) - 7 AS "t",
  CAST((
    "t0"."ended" = 1
  ) AND (
    "t0"."tenure_days" < 90
  ) AS BIGINT) AS "event",
  0 AS "seg"
FROM "temp"."main"."cached_0" AS "t0"
WHERE
  "t0"."_lm" = 1;

-- 16: query
SELECT
  "t0"."_mi",
  "t0"."action",
  "t0"."n",
  "t0"."n0",
  "t0"."n1",
  "t0"."first_at"
FROM "temp"."main"."cached_2" AS "t0"
WHERE
  "t0"."n" > 0 AND "t0"."_b" IS NOT NULL AND "t0"."_mi" >= 0 AND "t0"."_mi" < 600;
