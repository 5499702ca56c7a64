"""XML reading for camt.053: defused parsing, and the line of an element when a file is refused.

Parsed with defusedxml with DTDs, entities and external references forbidden (bank statements never
declare a DTD; a billion-laughs or XXE document is refused). Line numbers cost a Python call per
element, so they are only looked up for a refusal, by parsing the document again.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from services.finance.domain.statements.model import StatementError


class CamtFault(Exception):
    """A refusal tied to an XML element; its line is looked up only when the file is refused."""

    def __init__(self, element: Element | None, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.reason = reason


class _LineTarget:
    """TreeBuilder target that remembers the line of each element's start tag (error path only: it
    costs a Python call per element)."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrs)
        self.lines[id(element)] = self.current_line() or 0
        return element

    def end(self, tag: str) -> Element:
        return self.builder.end(tag)

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> Element:
        return self.builder.close()

    def current_line(self) -> int | None:
        expat = getattr(self.parser, "parser", None)
        return getattr(expat, "CurrentLineNumber", None)


def _defused_parser(target: object) -> DefusedXMLParser:
    return DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def parse_xml(data: bytes) -> Element:
    parser = _defused_parser(_FastTarget(TreeBuilder()))
    try:
        parser.feed(data)
        return parser.close()
    except DefusedXmlException as exc:
        expat = getattr(parser, "parser", None)
        raise StatementError(
            getattr(expat, "CurrentLineNumber", None),
            f"the XML declares a document type, entities or external references ({type(exc).__name__}); "
            "bank statements never do and such a file is refused",
        ) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise StatementError(line, f"the XML is malformed: {exc}") from None
    except (LookupError, ValueError) as exc:  # an encoding the declaration names that Python lacks
        raise StatementError(1, f"the XML declares an encoding that cannot be read: {exc}") from None


class _FastTarget:
    """The C TreeBuilder's methods, exposed so that the parser installs its start/end/data handlers."""

    def __init__(self, builder: TreeBuilder) -> None:
        self.start = builder.start
        self.end = builder.end
        self.data = builder.data
        self.close = builder.close


def line_of(data: bytes, root: Element, element: Element | None) -> int | None:
    """The line of ``element``'s start tag: the document is parsed again with line tracking and the
    element found at the same position (only done when a file is refused)."""
    if element is None:
        return None
    parents = {child: parent for parent in root.iter() for child in parent}
    steps: list[int] = []
    node = element
    while node is not root:
        parent = parents.get(node)
        if parent is None:
            return None
        steps.append(list(parent).index(node))
        node = parent
    target = _LineTarget()
    parser = _defused_parser(target)
    target.parser = parser
    parser.feed(data)
    node = parser.close()
    for index in reversed(steps):
        node = node[index]
    return target.lines.get(id(node))
