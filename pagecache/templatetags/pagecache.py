"""``{% live "template.html" %}``: a part of a page rendered for each request, also when the
page around it comes from the page cache (pagecache/holes.py).

Outside a cached render it is an ``{% include %}``. The template must need nothing but what the
context processors give: when the page is cached it is rendered alone, for each request.
"""

from django import template

from pagecache.holes import RECORDER

register = template.Library()


class LiveNode(template.Node):
    def __init__(self, name):
        self.name = name

    def render(self, context):
        name = self.name.resolve(context)
        recorder = context.get(RECORDER)
        if recorder is not None:
            return recorder.mark(name)
        return context.template.engine.get_template(name).render(context)


@register.tag
def live(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(f"{bits[0]} takes one argument: a template name")
    return LiveNode(parser.compile_filter(bits[1]))
