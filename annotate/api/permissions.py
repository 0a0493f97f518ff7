"""DRF permission classes built on the shared rules in annotate.permissions."""

from rest_framework.permissions import BasePermission

from annotate.permissions import is_staff


class IsStaff(BasePermission):
    message = "Only staff can use this endpoint."

    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)


class StaffWritesOthersRead(BasePermission):
    """Any signed-in user may read what their queryset shows them; only staff may write."""

    message = "Only staff can change this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or is_staff(request.user)
