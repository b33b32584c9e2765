"""Plain text rendered from templates, kept plain.

A text template (an email's text part) renders with autoescaping off, and Django marks whatever a template
renders as ``SafeString``. Printed later in an HTML page, such a string is trusted as markup and not escaped: a
member's name like ``<b hx-post="../approve/" hx-trigger="load">`` in a notice preview became a live htmx
element that posted with the viewer's CSRF token. Text rendered here is an ordinary ``str``, so any HTML
template that shows it escapes it as it escapes every other value.
"""

from __future__ import annotations

from django.template.loader import render_to_string


def render_text(template_name: str, context: dict) -> str:
    """Render a text template (``{% autoescape off %}``) to a plain ``str``, never marked safe for HTML."""
    rendered = render_to_string(template_name, context)
    return str.__str__(rendered)  # the same characters, without SafeString's "already escaped" mark
