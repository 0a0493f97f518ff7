"""Agreement maths: plain Python over numpy/pandas, no Django.

Entry point: `figures.agreement_figures`, every figure of a study from its long table.
"""
