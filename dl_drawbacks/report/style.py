"""The CSS of report.html and of the drawback card (one offline file each, no external style sheet)."""

# Wide tables scroll inside the text column (display:block + overflow-x) and long words wrap, so no element
# is wider than the page; the card's own table wraps instead (CARD_CSS below).
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45;"
    "overflow-wrap:anywhere}"
    "table{border-collapse:collapse;margin:.5rem 0;display:block;max-width:100%;overflow-x:auto}"
    "td,th{border:1px solid #ccc;padding:.25rem .5rem;font-size:.9rem}"
    "img{max-width:100%;height:auto}code{background:#f4f4f4}pre{overflow-x:auto;max-width:100%}"
    "table.card{display:table}"
)

CARD_CSS = (
    ".card{table-layout:fixed;width:100%;border-collapse:collapse;margin:.5rem 0 1.5rem}"
    ".card th,.card td{border:1px solid #ccc;padding:.25rem .4rem;vertical-align:top;font-size:.8rem;"
    "overflow-wrap:anywhere}"
    ".card th.drawback{width:7.5rem;text-align:left}"
    ".card .verdict{font-weight:600}"
    ".card .number{color:#333}"
    ".card .empty{color:#777;font-style:italic}"
    ".card img{display:block;max-width:100%;max-height:3.5rem;margin-top:.2rem}"
    ".card .flag{display:inline-block;background:#fff3cd;border:1px solid #e0c36c;border-radius:.2rem;"
    "padding:0 .25rem;margin:.1rem .1rem 0 0;font-size:.72rem}"
)
