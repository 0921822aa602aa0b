"""Reading the documentation's generated tables in tests: their labels and every interval in a result."""


def labels(table: str) -> list[list[str]]:
    """The cells of a table that are not measured numbers (row and column names)."""
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append([c for c in cells if not any(ch.isdigit() for ch in c.replace("l2_eps", "").replace("MS", "")
                                                                             .replace("_l2", ""))])
    return rows


def intervals(tree):
    """Every ``{"score", "low", "high", "n"}`` dict in a nested result."""
    if isinstance(tree, dict):
        if {"score", "low", "high", "n"} <= set(tree):
            yield tree
        for v in tree.values():
            yield from intervals(v)
