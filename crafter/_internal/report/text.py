"""Making a bundle producer's strings inert and visible, for HTML and for GitHub-flavoured Markdown.

Whatever the producer wrote (a material name, an annotation, a violation, a signer identity) is shown as
text, never interpreted: control characters, line breaks and invisible formatting characters (bidi overrides,
zero-width characters, which can make text read otherwise than it is) are replaced by visible marks, then the
text is escaped for its format. Over-long values are clipped, saying how much was left out.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: Longest value shown in full; longer ones are clipped (the HTML report keeps more than the Markdown one).
HTML_MAX_CHARS = 4096
MARKDOWN_MAX_CHARS = 512
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_BACKTICKS = re.compile(r"`+")


def visible(value: str, max_chars: int) -> str:
    """``value`` with line breaks shown as ``↵``, tabs as spaces, other control and invisible formatting
    characters as ``[U+XXXX]``, clipped to ``max_chars`` characters."""
    clipped = value if len(value) <= max_chars else value[:max_chars]
    out = []
    for ch in clipped:
        if ch == "\n":
            out.append("↵")
        elif ch == "\t":
            out.append(" ")
        elif ch == "\r":
            continue
        elif unicodedata.category(ch) in _HIDDEN:
            out.append(f"[U+{ord(ch):04X}]")
        else:
            out.append(ch)
    text = "".join(out)
    if len(value) > max_chars:
        text += f" … ({len(value) - max_chars:,} more characters)"
    return text


def html_text(value: str, max_chars: int = HTML_MAX_CHARS) -> str:
    """``value`` as HTML text (element content or a quoted attribute value)."""
    return html.escape(visible(value, max_chars), quote=True)


def md_code(value: str, *, table: bool = True, max_chars: int = MARKDOWN_MAX_CHARS) -> str:
    """``value`` as a Markdown code span: nothing inside is Markdown or HTML, nor a GitHub mention, issue
    reference or math. In a table cell (``table``) pipes are escaped as GFM requires (a backslash just
    before a pipe then shows doubled: the only change, and an inert one). Empty text is an empty string."""
    text = visible(value, max_chars)
    if not text.strip():
        return ""
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # one space each side (which the renderer strips) where the text's own edges would otherwise be misread
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
