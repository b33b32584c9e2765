from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def sort_link(sort, key: str, label: str):
    """A column heading that sorts the list by ``key`` (keeping the filters), with an arrow on the sorted one."""
    if sort is None:
        return label
    if sort.key != key:
        return format_html('<a href="{}" data-sort="{}" title="この列で並べ替え">{}</a>', sort.url(key), key, label)
    arrow, word = ("▼", "降順") if sort.descending else ("▲", "昇順")
    return format_html(
        '<a href="{}" data-sort="{}" data-sorted="{}" title="{}で並べ替え中">{} {}</a>',
        sort.url(key),
        key,
        word,
        word,
        label,
        arrow,
    )
