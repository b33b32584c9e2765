from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def documents_member_actions(context, member):
    """The member page's reissue actions (filled in by the documents work)."""
    return ""
