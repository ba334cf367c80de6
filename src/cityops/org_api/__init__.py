"""The org tree's HTTP face (/api/v1/org), kept above auth.

Every endpoint checks a permission and a grid import is audited, so the face needs `auth`;
`auth` reads org units (an account belongs to one), so `cityops.org` itself never imports it.
"""
