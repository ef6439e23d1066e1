from django.apps import AppConfig


class MpiConfig(AppConfig):
    name = "reachable.mpi"
    label = "mpi"
    verbose_name = "Master person index"
    default_auto_field = "django.db.models.BigAutoField"
