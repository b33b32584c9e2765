from django.conf import settings

from efnet.permissions import can_edit_members, can_reveal


def demo(request):
    """The demo (`make run`) and development: the login pages explain how to get in."""
    if not (settings.DEMO or settings.DEBUG):
        return {"demo": False}
    keys = "EFNET_DEMO=1" if settings.DEMO else "DEBUG=1"
    return {"demo": True, "demo_code_command": f"{keys} .venv/bin/python manage.py totp_code"}


def staff(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_admin": user.is_admin,
        # Notices whose authors asked for approval, that this admin may approve (never their own): the menu badge.
        "notices_awaiting_approval": _awaiting_approval(user),
        "is_head_office": user.is_head_office,
        "can_reveal": can_reveal(user),
        "can_edit_members": can_edit_members(user),
        # efnet.admin_site lets in active, verified admins with is_staff: the menu offers it to them only.
        "can_use_admin": user.is_staff and user.is_admin,
    }


def _awaiting_approval(user) -> int:
    if not user.is_admin:
        return 0
    from notices.selectors import awaiting_approval_count

    return awaiting_approval_count(user)
