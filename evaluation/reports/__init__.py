"""A study's agreement report, in the order it is made:

- `options`: ReportOptions, read from query parameters in one place (page, report.json, API);
  `label_sets`: the `label_set` option checked against the study's label sets;
- `read_arrays`, `read`: the judgments and everything else the report reads from PostgreSQL;
- `compute`: who is left out of the consensus and why, then every figure (the maths is
  `evaluation.agreement`, plain Python);
- `cache`: the cached report and the report document (report.json and the API); its
  docstring says what the cache key is made of;
- `render`: what the pages show, assembled from the report (context, heatmap, pivots);
  `display_names`: the raters' short names on crowded figures;
- `export`: CSV and JSON downloads, for the pages and the API alike;
- `cross_study`: the share of labels judged correct across studies;
- `views`, `urls`: the report pages. The API view is `evaluation.api.reports`.
"""
