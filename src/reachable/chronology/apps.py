from django.apps import AppConfig


class ChronologyConfig(AppConfig):
    name = "reachable.chronology"
    label = "chronology"
    default_auto_field = "django.db.models.BigAutoField"
