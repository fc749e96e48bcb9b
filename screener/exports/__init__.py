"""Exports: PRISMA 2020 diagram and counts, decision log, screened records, methods report.

Renders screener.core objects and never queries the database. Imports screener.core,
the standard library and its own file-format libraries only (matplotlib, openpyxl,
rispy, bibtexparser); never sqlalchemy, textual, click or sklearn.
"""
