import gradio as gr


def greet(name: str) -> str:
    return f"Hello, {name}!"


with gr.Blocks(title="Gradio demo") as demo:
    gr.Markdown("# Gradio demo")
    name = gr.Textbox(label="Your name")
    greeting = gr.Textbox(label="Greeting")
    name.submit(greet, name, greeting)

if __name__ == "__main__":
    demo.launch()
