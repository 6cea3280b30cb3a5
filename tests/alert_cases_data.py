"""promtool cases of the data-path alerts: Redis (the gateway's shared limits) and the CNPG database with its
backups, with the series their exporters write (components/manifests/metric_sources.py)."""

from typing import Any

from tests.alert_series import GW, case, cnpg, disk, s

BACKUP_TS = "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"


def data_cases() -> list[dict[str, Any]]:
    return [
        # Redis
        case(
            "Redis calls fail",
            [
                s(
                    f'litellm_redis_failed_requests_total{{namespace="{GW}", redis="redis", error_class="ConnectionError", function_name="async_get_cache"}}',
                    "0+3x20",
                )
            ],
            "15m",
            "GatewayRedisUnreachable",
            [{}],
        ),
        case(
            "no Redis failures",
            [
                s(
                    f'litellm_redis_failed_requests_total{{namespace="{GW}", redis="redis", error_class="ConnectionError", function_name="async_get_cache"}}',
                    "0x20",
                )
            ],
            "15m",
            "GatewayRedisUnreachable",
            [],
        ),
        case(
            "failures stopped 7 minutes ago",
            [
                s(
                    f'litellm_redis_failed_requests_total{{namespace="{GW}", redis="redis", error_class="ConnectionError", function_name="async_get_cache"}}',
                    "0+3x12 36x8",
                )
            ],
            "20m",
            "GatewayRedisUnreachable",
            [],
        ),
        # CNPG
        case(
            "archive failed after the last success",
            [
                cnpg("cnpg_pg_stat_archiver_last_failed_time", "2000x20"),
                cnpg("cnpg_pg_stat_archiver_last_archived_time", "1000x20"),
            ],
            "10m",
            "DatabaseWalArchivingFailing",
            [{"namespace": GW, "pod": "litellm-db-1"}],
        ),
        case(
            "the restored cluster never archived: every attempt failed",
            [
                cnpg("cnpg_pg_stat_archiver_last_failed_time", "2000x20", pod="litellm-db-2-1"),
                cnpg("cnpg_pg_stat_archiver_last_archived_time", "-1x20", pod="litellm-db-2-1"),  # CNPG: never
            ],
            "10m",
            "DatabaseWalArchivingFailing",
            [{"namespace": GW, "pod": "litellm-db-2-1"}],
        ),
        case(
            "archived after the last failure",
            [
                cnpg("cnpg_pg_stat_archiver_last_failed_time", "1000x20"),
                cnpg("cnpg_pg_stat_archiver_last_archived_time", "2000x20"),
            ],
            "10m",
            "DatabaseWalArchivingFailing",
            [],
        ),
        case(
            "failure and success in the same second",
            [
                cnpg("cnpg_pg_stat_archiver_last_failed_time", "2001x20"),
                cnpg("cnpg_pg_stat_archiver_last_archived_time", "2000x20"),
            ],
            "10m",
            "DatabaseWalArchivingFailing",
            [],
        ),
        # daily schedule: too old after 48 h (evaluated at 50 h = 180000 s)
        case(
            "last backup 50 h ago",
            [cnpg("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", "0x310")],
            "3000m",
            "DatabaseBackupTooOld",
            [{"cluster": "litellm-db"}],
            "10m",
        ),
        case(
            "restored cluster has no base backup yet, the old one's is 3 h old",
            [
                cnpg("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", "169200x310"),
                cnpg(BACKUP_TS, "0x310", pod="litellm-db-2-1"),  # the plugin reports 0 before the first backup
            ],
            "3000m",
            "DatabaseBackupTooOld",
            [{"cluster": "litellm-db-2"}],
            "10m",
        ),
        case(
            "both clusters backed up 3 h ago",
            [cnpg(BACKUP_TS, "169200x310"), cnpg(BACKUP_TS, "169200x310", pod="litellm-db-2-1")],
            "3000m",
            "DatabaseBackupTooOld",
            [],
            "10m",
        ),
        case(
            "last backup 3 h ago",
            [cnpg("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", "169200x310")],
            "3000m",
            "DatabaseBackupTooOld",
            [],
            "10m",
        ),
        case(
            "last backup 47 h 59 m ago",
            [cnpg("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", "7260x310")],
            "3000m",
            "DatabaseBackupTooOld",
            [],
            "10m",
        ),
        case("disk at 90 %", disk(8, 1), "20m", "DatabaseDiskFilling", [{"pod": "litellm-db-1"}]),
        case("disk at 30 %", disk(2, 1), "20m", "DatabaseDiskFilling", []),
        case("disk at exactly 80 %", disk(7, 1), "20m", "DatabaseDiskFilling", []),
        case(
            "standby 120 s behind",
            [cnpg("cnpg_pg_replication_lag", "120x20", pod="litellm-db-2")],
            "10m",
            "DatabaseReplicationLag",
            [{"pod": "litellm-db-2"}],
        ),
        case(
            "standby 1 s behind",
            [cnpg("cnpg_pg_replication_lag", "1x20", pod="litellm-db-2")],
            "10m",
            "DatabaseReplicationLag",
            [],
        ),
        case(
            "standby exactly 60 s behind",
            [cnpg("cnpg_pg_replication_lag", "60x20", pod="litellm-db-2")],
            "10m",
            "DatabaseReplicationLag",
            [],
        ),
    ]
