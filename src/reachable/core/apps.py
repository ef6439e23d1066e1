from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "reachable.core"
    label = "core"

    def ready(self) -> None:
        from reachable.core.timestamps import timestamps_loaded_natively

        connection_created.connect(timestamps_loaded_natively,
                                   dispatch_uid="reachable.core.timestamps")
