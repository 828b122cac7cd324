"""The Streamlit app's package: ui/ (the only place that imports streamlit), who may see what
(access) and how the server is started (serving). app.py and pages/ at the top level use it."""
