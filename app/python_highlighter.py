"""Syntax highlighting for Qt text widgets, done by Pygments rather than by a home-made lexer.

Like qtconsole's `pygments_highlighter`, Pygments does the lexing and its style's colours become
`QTextCharFormat`s. Commands are short, so the whole document is lexed once per revision (that
keeps multi-line strings right) and each block takes the formats that fall inside it.
"""
from __future__ import annotations

import bisect

from pygments.lexer import Lexer
from pygments.lexers import PythonLexer
from pygments.styles import get_style_by_name
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

STYLES = {"light": "default", "dark": "monokai"}


class PygmentsHighlighter(QSyntaxHighlighter):
    """Highlights a document with a Pygments lexer in a light or dark Pygments style."""

    def __init__(self, document: QTextDocument, lexer: Lexer | None = None, theme: str = "light"):
        super().__init__(document)
        self._lexer = lexer or PythonLexer(stripnl=False)
        self._formats: dict = {}
        self._spans: list[tuple[int, int, object]] = []
        self._starts: list[int] = []
        self._text: str | None = None
        self.set_theme(theme)

    def set_theme(self, theme: str) -> None:
        self._style = get_style_by_name(STYLES[theme])
        self._formats.clear()
        self._text = None
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._lex_document()
        block_start = self.currentBlock().position()
        block_end = block_start + len(text)
        index = max(0, bisect.bisect_right(self._starts, block_start) - 1)
        last_token = None
        while index < len(self._spans) and self._spans[index][0] < block_end:
            start, end, token = self._spans[index]
            if end > block_start:
                begin = max(start, block_start)
                self.setFormat(begin - block_start, min(end, block_end) - begin, self._format(token))
                last_token = token
            index += 1
        # A different token at the end of a block (an opened string) makes Qt go on to the next.
        self.setCurrentBlockState(hash(last_token) & 0x7FFFFFFF)

    def _lex_document(self) -> None:
        text = self.document().toPlainText()
        if text == self._text:
            return
        self._text = text
        self._spans.clear()
        position = 0
        for token, value in self._lexer.get_tokens(text):
            if value:
                self._spans.append((position, position + len(value), token))
                position += len(value)
        self._starts = [span[0] for span in self._spans]

    def _format(self, token) -> QTextCharFormat:
        fmt = self._formats.get(token)
        if fmt is None:
            fmt = QTextCharFormat()
            style = self._style.style_for_token(token)
            if style["color"]:
                fmt.setForeground(QColor(f"#{style['color']}"))
            if style["bold"]:
                fmt.setFontWeight(QFont.Weight.Bold)
            if style["italic"]:
                fmt.setFontItalic(True)
            self._formats[token] = fmt
        return fmt
