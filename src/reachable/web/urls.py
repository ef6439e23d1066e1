from django.contrib.auth import views as auth_views
from django.urls import path

from reachable.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("sign-out", auth_views.LogoutView.as_view(), name="logout"),
]
