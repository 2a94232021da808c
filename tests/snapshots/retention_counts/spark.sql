-- 1: cache temp.main.cached_0
SELECT
  `t0`.`signup_at`,
  CAST(FLOOR(
    (
      UNIX_MICROS(
        CASE
          WHEN (
            `t0`.`ended_at` IS NOT NULL
          )
          AND (
            `t0`.`ended_at` <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP)
          )
          THEN `t0`.`ended_at`
          ELSE CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP)
        END
      ) - UNIX_MICROS(`t0`.`signup_at`)
    ) / (
      86400000000
    )
  ) AS BIGINT) AS `tenure_days`,
  CAST((
    `t0`.`ended_at` IS NOT NULL
  )
  AND (
    `t0`.`ended_at` <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP)
  ) AS BIGINT) AS `ended`,
  CAST(FLOOR(
    (
      UNIX_MICROS(CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP)) - UNIX_MICROS(`t0`.`signup_at`)
    ) / (
      86400000000
    )
  ) AS BIGINT) AS `observed_days`,
  `t0`.`channel`
FROM `members` AS `t0`
WHERE
  `t0`.`signup_at` <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP);

-- 2: query
SELECT
  `t1`.`channel`,
  `t1`.`tenure_days`,
  `t1`.`ended`,
  COUNT(*) AS `n`
FROM (
  SELECT
    `t0`.`signup_at`,
    `t0`.`tenure_days`,
    `t0`.`ended`,
    `t0`.`observed_days`,
    COALESCE(`t0`.`channel`, '(missing)') AS `channel`
  FROM `temp`.`main`.`cached_0` AS `t0`
) AS `t1`
GROUP BY
  1,
  2,
  3;

-- 3: query
SELECT
  `t1`.`cohort`,
  `t1`.`last_obs`,
  `t1`.`last_kept`,
  COUNT(*) AS `n`
FROM (
  SELECT
    `t0`.`signup_at`,
    `t0`.`tenure_days`,
    `t0`.`ended`,
    `t0`.`observed_days`,
    `t0`.`channel`,
    CAST(DATE_TRUNC('month', `t0`.`signup_at`) AS DATE) AS `cohort`,
    CAST(FLOOR((
      `t0`.`observed_days`
    ) / (
      30
    )) AS BIGINT) AS `last_obs`,
    CAST(FLOOR((
      `t0`.`tenure_days`
    ) / (
      30
    )) AS BIGINT) AS `last_kept`
  FROM `temp`.`main`.`cached_0` AS `t0`
) AS `t1`
GROUP BY
  1,
  2,
  3;
