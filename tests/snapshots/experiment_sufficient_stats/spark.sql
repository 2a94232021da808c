-- 1: query
SELECT
  *
FROM (
  SELECT
    `t24`.`variant`,
    'all' AS `segment`,
    `t24`.`m0__n`,
    `t24`.`m0__sum`,
    `t24`.`m0__sum_squares`,
    `t24`.`m1__n`,
    `t24`.`m1__sum`,
    `t24`.`m1__sum_squares`,
    `t24`.`m2__n`,
    `t24`.`m2__sum`,
    `t24`.`m2__sum_squares`,
    `t24`.`m3__n`,
    `t24`.`m3__sum`,
    `t24`.`m3__sum_squares`,
    `t24`.`m4__n`,
    `t24`.`m4__sum`,
    `t24`.`m4__sum_squares`,
    `t24`.`m5__n`,
    `t24`.`m5__sum`,
    `t24`.`m5__sum_squares`,
    `t24`.`__exposed`,
    `t24`.`__first`,
    `t24`.`__last`
  FROM (
    SELECT
      `t22`.`variant`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '180' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m0__n`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '180' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '180' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m0__sum`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '180' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '180' DAY
            )
          ),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '180' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m0__sum_squares`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '90' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m1__n`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '90' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '90' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m1__sum`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '90' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '90' DAY
            )
          ),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '90' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m1__sum_squares`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m2__n`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t22`.`m2__y` > 0, 1.0, 0.0)
      ) AS `m2__sum`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t22`.`m2__y` > 0, 1.0, 0.0) * IF(`t22`.`m2__y` > 0, 1.0, 0.0)
      ) AS `m2__sum_squares`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m3__n`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t22`.`m3__y` > 0, 1.0, 0.0)
      ) AS `m3__sum`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t22`.`m3__y` > 0, 1.0, 0.0) * IF(`t22`.`m3__y` > 0, 1.0, 0.0)
      ) AS `m3__sum_squares`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m4__n`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * `t22`.`m4__y`
      ) AS `m4__sum`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * `t22`.`m4__y` * `t22`.`m4__y`
      ) AS `m4__sum_squares`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m5__n`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '30' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m5__sum`,
      SUM(
        IF(
          (
            `t22`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '30' DAY
            )
          ),
          1.0,
          0.0
        ) * IF(
          (
            `t22`.`ended_at` IS NULL
          )
          OR (
            `t22`.`ended_at` > (
              `t22`.`exposed_at` + INTERVAL '30' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m5__sum_squares`,
      CAST(COUNT(*) AS DOUBLE) AS `__exposed`,
      MIN(`t22`.`exposed_at`) AS `__first`,
      MAX(`t22`.`exposed_at`) AS `__last`
    FROM (
      SELECT
        `t21`.`member_id`,
        `t21`.`exposed_at`,
        `t21`.`variant`,
        `t21`.`n_arms`,
        `t21`.`ended_at`,
        `t21`.`country`,
        COALESCE(`t21`.`m2__y`, 0.0) AS `m2__y`,
        COALESCE(`t21`.`m3__y`, 0.0) AS `m3__y`,
        COALESCE(`t21`.`m4__y`, 0.0) AS `m4__y`
      FROM (
        SELECT
          `t20`.`member_id`,
          `t20`.`exposed_at`,
          `t20`.`variant`,
          `t20`.`n_arms`,
          `t20`.`ended_at`,
          `t20`.`country`,
          `t20`.`m2__y`,
          `t20`.`m3__y`,
          `t20`.`m4__y`
        FROM (
          SELECT
            `t14`.`member_id`,
            `t14`.`exposed_at`,
            `t14`.`variant`,
            `t14`.`n_arms`,
            `t14`.`ended_at`,
            `t14`.`country`,
            `t19`.`member_id` AS `member_id_right`,
            `t19`.`m2__y`,
            `t19`.`m3__y`,
            `t19`.`m4__y`
          FROM (
            SELECT
              *
            FROM (
              SELECT
                `t10`.`member_id`,
                `t10`.`exposed_at`,
                `t10`.`variant`,
                `t10`.`n_arms`,
                `t10`.`ended_at`,
                `t10`.`country`
              FROM (
                SELECT
                  `t9`.`member_id`,
                  `t9`.`exposed_at`,
                  `t9`.`variant`,
                  `t9`.`n_arms`,
                  `t5`.`member_id` AS `member_id_right`,
                  `t5`.`ended_at`,
                  `t5`.`country`
                FROM (
                  SELECT
                    `t4`.`member_id`,
                    MIN(`t4`.`ts`) AS `exposed_at`,
                    MIN(`t4`.`variant`) AS `variant`,
                    COUNT(DISTINCT `t4`.`variant`) AS `n_arms`
                  FROM (
                    SELECT
                      *
                    FROM `exposures` AS `t0`
                    WHERE
                      `t0`.`experiment` = 'value_messaging' AND `t0`.`placement` = 'signup'
                  ) AS `t4`
                  GROUP BY
                    1
                ) AS `t9`
                LEFT OUTER JOIN (
                  SELECT
                    `t1`.`member_id`,
                    `t1`.`ended_at`,
                    `t1`.`country`
                  FROM `members` AS `t1`
                ) AS `t5`
                  ON `t9`.`member_id` = `t5`.`member_id`
              ) AS `t10`
            ) AS `t11`
            WHERE
              `t11`.`n_arms` = 1
          ) AS `t14`
          LEFT OUTER JOIN (
            SELECT
              `t17`.`member_id`,
              SUM(
                IF(
                  `t17`.`action` IN ('shipping.order')
                  AND (
                    `t17`.`ts` >= (
                      `t17`.`t0` + INTERVAL '0' DAY
                    )
                  )
                  AND (
                    `t17`.`ts` < (
                      `t17`.`t0` + INTERVAL '7' DAY
                    )
                  ),
                  1.0,
                  0.0
                )
              ) AS `m2__y`,
              SUM(
                IF(
                  `t17`.`action` IN ('video.stream')
                  AND (
                    `t17`.`ts` >= (
                      `t17`.`t0` + INTERVAL '0' DAY
                    )
                  )
                  AND (
                    `t17`.`ts` < (
                      `t17`.`t0` + INTERVAL '7' DAY
                    )
                  ),
                  1.0,
                  0.0
                )
              ) AS `m3__y`,
              SUM(
                IF(
                  `t17`.`action` IN ('shipping.order', 'grocery.order')
                  AND (
                    `t17`.`ts` >= (
                      `t17`.`t0` + INTERVAL '0' DAY
                    )
                  )
                  AND (
                    `t17`.`ts` < (
                      `t17`.`t0` + INTERVAL '30' DAY
                    )
                  ),
                  `t17`.`value`,
                  0.0
                )
              ) AS `m4__y`
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  `t15`.`member_id`,
                  `t15`.`t0`,
                  `t7`.`ts`,
                  `t7`.`action`,
                  `t7`.`value`
                FROM (
                  SELECT
                    `t11`.`member_id`,
                    `t11`.`exposed_at` AS `t0`
                  FROM (
                    SELECT
                      `t10`.`member_id`,
                      `t10`.`exposed_at`,
                      `t10`.`variant`,
                      `t10`.`n_arms`,
                      `t10`.`ended_at`,
                      `t10`.`country`
                    FROM (
                      SELECT
                        `t9`.`member_id`,
                        `t9`.`exposed_at`,
                        `t9`.`variant`,
                        `t9`.`n_arms`,
                        `t5`.`member_id` AS `member_id_right`,
                        `t5`.`ended_at`,
                        `t5`.`country`
                      FROM (
                        SELECT
                          `t4`.`member_id`,
                          MIN(`t4`.`ts`) AS `exposed_at`,
                          MIN(`t4`.`variant`) AS `variant`,
                          COUNT(DISTINCT `t4`.`variant`) AS `n_arms`
                        FROM (
                          SELECT
                            *
                          FROM `exposures` AS `t0`
                          WHERE
                            `t0`.`experiment` = 'value_messaging' AND `t0`.`placement` = 'signup'
                        ) AS `t4`
                        GROUP BY
                          1
                      ) AS `t9`
                      LEFT OUTER JOIN (
                        SELECT
                          `t1`.`member_id`,
                          `t1`.`ended_at`,
                          `t1`.`country`
                        FROM `members` AS `t1`
                      ) AS `t5`
                        ON `t9`.`member_id` = `t5`.`member_id`
                    ) AS `t10`
                  ) AS `t11`
                  WHERE
                    `t11`.`n_arms` = 1
                ) AS `t15`
                INNER JOIN (
                  SELECT
                    `t2`.`member_id`,
                    `t2`.`ts`,
                    `t2`.`action`,
                    COALESCE(`t2`.`value`, 0.0) AS `value`
                  FROM `events` AS `t2`
                  WHERE
                    `t2`.`action` IN ('grocery.order', 'shipping.order', 'video.stream')
                ) AS `t7`
                  ON `t15`.`member_id` = `t7`.`member_id`
              ) AS `t16`
              WHERE
                `t16`.`ts` >= (
                  `t16`.`t0` + INTERVAL '0' DAY
                )
                AND `t16`.`ts` < (
                  `t16`.`t0` + INTERVAL '30' DAY
                )
            ) AS `t17`
            GROUP BY
              1
          ) AS `t19`
            ON `t14`.`member_id` = `t19`.`member_id`
        ) AS `t20`
      ) AS `t21`
    ) AS `t22`
    GROUP BY
      1
  ) AS `t24`
) AS `t26`
UNION ALL
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      `t23`.`variant`,
      `t23`.`segment`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '180' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m0__n`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '180' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '180' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m0__sum`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '180' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '180' DAY
            )
          ),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '180' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m0__sum_squares`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '90' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m1__n`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '90' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '90' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m1__sum`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '90' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '90' DAY
            )
          ),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '90' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m1__sum_squares`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m2__n`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t23`.`m2__y` > 0, 1.0, 0.0)
      ) AS `m2__sum`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t23`.`m2__y` > 0, 1.0, 0.0) * IF(`t23`.`m2__y` > 0, 1.0, 0.0)
      ) AS `m2__sum_squares`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m3__n`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t23`.`m3__y` > 0, 1.0, 0.0)
      ) AS `m3__sum`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '7' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(`t23`.`m3__y` > 0, 1.0, 0.0) * IF(`t23`.`m3__y` > 0, 1.0, 0.0)
      ) AS `m3__sum_squares`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m4__n`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * `t23`.`m4__y`
      ) AS `m4__sum`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * `t23`.`m4__y` * `t23`.`m4__y`
      ) AS `m4__sum_squares`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        )
      ) AS `m5__n`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '30' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m5__sum`,
      SUM(
        IF(
          (
            `t23`.`exposed_at` + INTERVAL '30' DAY
          ) <= CAST('2026-03-13T23:00:45+00:00' AS TIMESTAMP),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '30' DAY
            )
          ),
          1.0,
          0.0
        ) * IF(
          (
            `t23`.`ended_at` IS NULL
          )
          OR (
            `t23`.`ended_at` > (
              `t23`.`exposed_at` + INTERVAL '30' DAY
            )
          ),
          1.0,
          0.0
        )
      ) AS `m5__sum_squares`,
      CAST(COUNT(*) AS DOUBLE) AS `__exposed`,
      MIN(`t23`.`exposed_at`) AS `__first`,
      MAX(`t23`.`exposed_at`) AS `__last`
    FROM (
      SELECT
        `t21`.`member_id`,
        `t21`.`exposed_at`,
        `t21`.`variant`,
        `t21`.`n_arms`,
        `t21`.`ended_at`,
        `t21`.`country`,
        COALESCE(`t21`.`m2__y`, 0.0) AS `m2__y`,
        COALESCE(`t21`.`m3__y`, 0.0) AS `m3__y`,
        COALESCE(`t21`.`m4__y`, 0.0) AS `m4__y`,
        CONCAT('country=', COALESCE(`t21`.`country`, '(missing)')) AS `segment`
      FROM (
        SELECT
          `t20`.`member_id`,
          `t20`.`exposed_at`,
          `t20`.`variant`,
          `t20`.`n_arms`,
          `t20`.`ended_at`,
          `t20`.`country`,
          `t20`.`m2__y`,
          `t20`.`m3__y`,
          `t20`.`m4__y`
        FROM (
          SELECT
            `t14`.`member_id`,
            `t14`.`exposed_at`,
            `t14`.`variant`,
            `t14`.`n_arms`,
            `t14`.`ended_at`,
            `t14`.`country`,
            `t19`.`member_id` AS `member_id_right`,
            `t19`.`m2__y`,
            `t19`.`m3__y`,
            `t19`.`m4__y`
          FROM (
            SELECT
              *
            FROM (
              SELECT
                `t10`.`member_id`,
                `t10`.`exposed_at`,
                `t10`.`variant`,
                `t10`.`n_arms`,
                `t10`.`ended_at`,
                `t10`.`country`
              FROM (
                SELECT
                  `t9`.`member_id`,
                  `t9`.`exposed_at`,
                  `t9`.`variant`,
                  `t9`.`n_arms`,
                  `t5`.`member_id` AS `member_id_right`,
                  `t5`.`ended_at`,
                  `t5`.`country`
                FROM (
                  SELECT
                    `t4`.`member_id`,
                    MIN(`t4`.`ts`) AS `exposed_at`,
                    MIN(`t4`.`variant`) AS `variant`,
                    COUNT(DISTINCT `t4`.`variant`) AS `n_arms`
                  FROM (
                    SELECT
                      *
                    FROM `exposures` AS `t0`
                    WHERE
                      `t0`.`experiment` = 'value_messaging' AND `t0`.`placement` = 'signup'
                  ) AS `t4`
                  GROUP BY
                    1
                ) AS `t9`
                LEFT OUTER JOIN (
                  SELECT
                    `t1`.`member_id`,
                    `t1`.`ended_at`,
                    `t1`.`country`
                  FROM `members` AS `t1`
                ) AS `t5`
                  ON `t9`.`member_id` = `t5`.`member_id`
              ) AS `t10`
            ) AS `t11`
            WHERE
              `t11`.`n_arms` = 1
          ) AS `t14`
          LEFT OUTER JOIN (
            SELECT
              `t17`.`member_id`,
              SUM(
                IF(
                  `t17`.`action` IN ('shipping.order')
                  AND (
                    `t17`.`ts` >= (
                      `t17`.`t0` + INTERVAL '0' DAY
                    )
                  )
                  AND (
                    `t17`.`ts` < (
                      `t17`.`t0` + INTERVAL '7' DAY
                    )
                  ),
                  1.0,
                  0.0
                )
              ) AS `m2__y`,
              SUM(
                IF(
                  `t17`.`action` IN ('video.stream')
                  AND (
                    `t17`.`ts` >= (
                      `t17`.`t0` + INTERVAL '0' DAY
                    )
                  )
                  AND (
                    `t17`.`ts` < (
                      `t17`.`t0` + INTERVAL '7' DAY
                    )
                  ),
                  1.0,
                  0.0
                )
              ) AS `m3__y`,
              SUM(
                IF(
                  `t17`.`action` IN ('shipping.order', 'grocery.order')
                  AND (
                    `t17`.`ts` >= (
                      `t17`.`t0` + INTERVAL '0' DAY
                    )
                  )
                  AND (
                    `t17`.`ts` < (
                      `t17`.`t0` + INTERVAL '30' DAY
                    )
                  ),
                  `t17`.`value`,
                  0.0
                )
              ) AS `m4__y`
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  `t15`.`member_id`,
                  `t15`.`t0`,
                  `t7`.`ts`,
                  `t7`.`action`,
                  `t7`.`value`
                FROM (
                  SELECT
                    `t11`.`member_id`,
                    `t11`.`exposed_at` AS `t0`
                  FROM (
                    SELECT
                      `t10`.`member_id`,
                      `t10`.`exposed_at`,
                      `t10`.`variant`,
                      `t10`.`n_arms`,
                      `t10`.`ended_at`,
                      `t10`.`country`
                    FROM (
                      SELECT
                        `t9`.`member_id`,
                        `t9`.`exposed_at`,
                        `t9`.`variant`,
                        `t9`.`n_arms`,
                        `t5`.`member_id` AS `member_id_right`,
                        `t5`.`ended_at`,
                        `t5`.`country`
                      FROM (
                        SELECT
                          `t4`.`member_id`,
                          MIN(`t4`.`ts`) AS `exposed_at`,
                          MIN(`t4`.`variant`) AS `variant`,
                          COUNT(DISTINCT `t4`.`variant`) AS `n_arms`
                        FROM (
                          SELECT
                            *
                          FROM `exposures` AS `t0`
                          WHERE
                            `t0`.`experiment` = 'value_messaging' AND `t0`.`placement` = 'signup'
                        ) AS `t4`
                        GROUP BY
                          1
                      ) AS `t9`
                      LEFT OUTER JOIN (
                        SELECT
                          `t1`.`member_id`,
                          `t1`.`ended_at`,
                          `t1`.`country`
                        FROM `members` AS `t1`
                      ) AS `t5`
                        ON `t9`.`member_id` = `t5`.`member_id`
                    ) AS `t10`
                  ) AS `t11`
                  WHERE
                    `t11`.`n_arms` = 1
                ) AS `t15`
                INNER JOIN (
                  SELECT
                    `t2`.`member_id`,
                    `t2`.`ts`,
                    `t2`.`action`,
                    COALESCE(`t2`.`value`, 0.0) AS `value`
                  FROM `events` AS `t2`
                  WHERE
                    `t2`.`action` IN ('grocery.order', 'shipping.order', 'video.stream')
                ) AS `t7`
                  ON `t15`.`member_id` = `t7`.`member_id`
              ) AS `t16`
              WHERE
                `t16`.`ts` >= (
                  `t16`.`t0` + INTERVAL '0' DAY
                )
                AND `t16`.`ts` < (
                  `t16`.`t0` + INTERVAL '30' DAY
                )
            ) AS `t17`
            GROUP BY
              1
          ) AS `t19`
            ON `t14`.`member_id` = `t19`.`member_id`
        ) AS `t20`
      ) AS `t21`
    ) AS `t23`
    GROUP BY
      1,
      2
  ) AS `t25`
) AS `t27`;

-- 2: query
SELECT
  COUNT(*) AS `CountStar()`
FROM (
  SELECT
    *
  FROM (
    SELECT
      `t7`.`member_id`,
      `t7`.`exposed_at`,
      `t7`.`variant`,
      `t7`.`n_arms`,
      `t7`.`ended_at`,
      `t7`.`country`
    FROM (
      SELECT
        `t6`.`member_id`,
        `t6`.`exposed_at`,
        `t6`.`variant`,
        `t6`.`n_arms`,
        `t4`.`member_id` AS `member_id_right`,
        `t4`.`ended_at`,
        `t4`.`country`
      FROM (
        SELECT
          `t3`.`member_id`,
          MIN(`t3`.`ts`) AS `exposed_at`,
          MIN(`t3`.`variant`) AS `variant`,
          COUNT(DISTINCT `t3`.`variant`) AS `n_arms`
        FROM (
          SELECT
            *
          FROM `exposures` AS `t0`
          WHERE
            `t0`.`experiment` = 'value_messaging' AND `t0`.`placement` = 'signup'
        ) AS `t3`
        GROUP BY
          1
      ) AS `t6`
      LEFT OUTER JOIN (
        SELECT
          `t1`.`member_id`,
          `t1`.`ended_at`,
          `t1`.`country`
        FROM `members` AS `t1`
      ) AS `t4`
        ON `t6`.`member_id` = `t4`.`member_id`
    ) AS `t7`
  ) AS `t8`
  WHERE
    `t8`.`n_arms` > 1
) AS `t9`;
