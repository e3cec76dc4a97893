"""Chainlit demo: answers every message with its length."""

import chainlit as cl


@cl.on_chat_start
async def start() -> None:
    await cl.Message(content="Chainlit demo: send me a message.").send()


@cl.on_message
async def answer(message: cl.Message) -> None:
    await cl.Message(content=f"Your message has {len(message.content)} characters.").send()
