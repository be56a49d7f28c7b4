"""A model-less script: echoes, tags its answers 'green'."""


def init():
    pass


def run(data):
    return {"echo": data, "version": "green"}
