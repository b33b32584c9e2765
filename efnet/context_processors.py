from efnet.permissions import can_edit_members


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
