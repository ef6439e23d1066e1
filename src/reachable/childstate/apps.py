from django.apps import AppConfig


class ChildStateConfig(AppConfig):
    name = "reachable.childstate"
    label = "childstate"
    verbose_name = "Child state (derived flags)"
    default_auto_field = "django.db.models.BigAutoField"
