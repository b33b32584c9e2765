from django.conf import settings
from django.core.checks import Error, register

from efnet import crypto


@register(deploy=True)
def encryption_keys_check(app_configs, **kwargs):
    try:
        crypto.keyring()
    except Exception as exc:  # ImproperlyConfigured, with a message that names no key material
        return [Error(str(exc), id="efnet.E001")]
    if settings.DEBUG is False and any(k.startswith("dev:") for k in settings.FIELD_ENCRYPTION_KEYS):
        return [Error("a development key is configured in production", id="efnet.E002")]
    return []
