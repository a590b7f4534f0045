"""The participants' pages: server-rendered, French first, a thin client of the workflow."""
