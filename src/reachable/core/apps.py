from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "reachable.core"
    label = "core"
