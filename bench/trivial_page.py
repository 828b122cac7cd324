"""The benchmark's trivial page: the app's frame (settings, language, sidebar filters, data-as-of
banner) around a page that draws one title and reads no data. Registered in the navigation by
bench/apptest_tour.py only; the app itself never lists it."""

import streamlit as st

st.title("benchmark: trivial page")
