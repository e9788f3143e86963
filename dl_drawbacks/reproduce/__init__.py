"""Reproductions: a spec's ``reproduces:`` block judged against its findings (verdict.py), recorded and shown in
the report (section.py), and a folder of such specs run in order with an index of the verdicts (suite.py)."""
