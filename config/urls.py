from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("config.api_urls")),  # REST API
    path("annotate/", include("annotate.annotation_urls")),  # human annotation pages
    path("runs/", include("evaluation.urls")),  # evaluation runs
    path("reports/", include("evaluation.reports.urls")),  # agreement reports
    path("", include("annotate.urls")),  # studies, imports, demo
]

if settings.DEBUG:  # the development server's media, behind a login and study access
    from annotate.media import serve_media

    media = settings.MEDIA_URL.strip("/")
    urlpatterns += [re_path(rf"^{media}/(?P<path>.+)$", serve_media, name="media")]
