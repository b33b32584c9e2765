"""Role checks shared by every app. Scoping (which office) is in efnet.scoping; this is what a role may do."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from efnet.models import Role

REVEAL_PERMISSION = "members.reveal_password"


def can_edit_members(user) -> bool:
    return user.is_admin or user.has_role(Role.HEAD_OFFICE) or user.has_role(Role.SALES_OFFICE)


def can_reveal(user) -> bool:
    return user.is_active and user.has_perm(REVEAL_PERMISSION)


def _require(check, why: str):
    """A view decorator: 403 unless ``check(user)``. ``why`` names the missing right in the audit event that
    efnet.views.permission_denied writes for every 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(why)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


require_member_editor = _require(can_edit_members, "member_editor_required")
require_reveal = _require(can_reveal, "reveal_permission_required")
require_head_office = _require(lambda u: u.is_head_office, "head_office_required")
require_admin = _require(lambda u: u.is_admin, "admin_required")
