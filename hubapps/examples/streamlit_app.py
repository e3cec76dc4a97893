import streamlit as st

st.title("Streamlit demo")
number = st.slider("Pick a number", 0, 100, 7)
st.write(f"The square of {number} is {number * number}")
