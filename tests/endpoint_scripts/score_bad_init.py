def init():
    raise RuntimeError("cannot load the model: weights are corrupt")


def run(data):
    return data
