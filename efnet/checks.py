from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register
from django.http.request import validate_host

from efnet import crypto

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104  (names we refuse, not an address we bind)


@register(deploy=True)
def encryption_keys_check(app_configs, **kwargs):
    try:
        crypto.keyring()
    except Exception as exc:  # ImproperlyConfigured, with a message that names no key material
        return [Error(str(exc), id="efnet.E001")]
    if (
        settings.DEBUG is False
        and not settings.DEMO
        and any(k.startswith("dev:") for k in settings.FIELD_ENCRYPTION_KEYS)
    ):
        return [Error("a development key is configured in production", id="efnet.E002")]
    return []


@register()
def production_settings_check(app_configs, **kwargs):
    """With DEBUG and the demo off, the values production cannot run without. An Error, not a deploy-only
    check: `manage.py check`, `migrate` and `runserver` stop on it, so a half-configured server never starts."""
    if settings.DEBUG or settings.DEMO:
        return []
    errors = []
    base_url = settings.NOTICES_BASE_URL
    parts = urlsplit(base_url)
    if not base_url:
        errors.append(
            Error(
                "EFNET_BASE_URL is not set.",
                hint="The portal's public origin, e.g. EFNET_BASE_URL=https://efnet.example.jp: the notices' "
                "self-report links point there.",
                id="efnet.E010",
            )
        )
    elif parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        errors.append(
            Error(
                f"EFNET_BASE_URL must be an https origin without a path, not {base_url!r}.",
                hint="e.g. EFNET_BASE_URL=https://efnet.example.jp",
                id="efnet.E011",
            )
        )
    elif parts.hostname in LOCAL_HOSTS:
        errors.append(
            Error(
                f"EFNET_BASE_URL points at this machine ({base_url!r}): members could not open its links.",
                hint="Give the name members reach the portal by, e.g. https://efnet.example.jp",
                id="efnet.E012",
            )
        )
    elif not validate_host(parts.hostname, settings.ALLOWED_HOSTS):
        errors.append(
            Error(
                f"The host of EFNET_BASE_URL ({parts.hostname}) is not in ALLOWED_HOSTS: the portal would refuse "
                "the links it sends.",
                id="efnet.E013",
            )
        )
    if not settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "ALLOWED_HOSTS is not set.",
                hint="The host names the portal answers to, e.g. ALLOWED_HOSTS=efnet.example.jp",
                id="efnet.E014",
            )
        )
    return errors


def refuse_to_start_misconfigured() -> None:
    """For the entry points that run no system checks (a WSGI server, a Celery worker): stop at start-up, with
    the same messages, rather than serve or send with an incomplete production configuration."""
    from django.core.management.base import SystemCheckError

    errors = production_settings_check(None)
    if errors:
        raise SystemCheckError("\n".join(f"{e.id}: {e.msg} {e.hint or ''}".rstrip() for e in errors))
