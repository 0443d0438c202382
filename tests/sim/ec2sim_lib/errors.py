class ApiError(Exception):
    """An EC2 error answer: code, message, HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status
