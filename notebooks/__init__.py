"""The tutorial notebooks, shipped inside the package as `tc_notebook.notebooks`."""
