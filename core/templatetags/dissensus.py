from django import template
from django.utils.safestring import SafeString, mark_safe

from core.rendering import markdown_to_safe_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str) -> SafeString:
    """Render markdown as sanitized HTML (raw HTML in the source is shown as text)."""
    return mark_safe(markdown_to_safe_html(source))  # noqa: S308 - sanitized by nh3
