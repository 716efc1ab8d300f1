"""hello 1.0.0: the released file of the demo."""


def greet(name: str = "world") -> str:
    if not name:
        raise ValueError("name must not be empty")
    return f"Hello, {name}!"


if __name__ == "__main__":
    print(greet())
