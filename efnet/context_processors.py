from django.conf import settings

from efnet.permissions import can_edit_members


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
        "is_head_office": user.is_head_office,
        "can_reveal": user.has_perm("members.reveal_password"),
        "can_edit_members": can_edit_members(user),
    }
