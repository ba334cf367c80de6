"""R7 event flow: cases from report to closure, their categories and their time limits."""
