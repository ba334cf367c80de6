"""The urban-grid adapter (数字城管 / 网格化): component and event reports."""
