from django.test import RequestFactory

from efnet.request_context import client_ip


def test_it_uses_the_socket_address_by_default(settings):
    settings.BEHIND_PROXY = False
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"  # a client-supplied header is ignored


def test_behind_the_proxy_it_takes_the_address_the_proxy_appended(settings):
    settings.BEHIND_PROXY = True
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"
