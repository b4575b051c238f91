from fastapi.testclient import TestClient


def test_login_and_projects(client: TestClient) -> None:
    assert client.get("/api/v1/auth/me").json()["email"] == "admin@localhost"
    created = client.post("/api/v1/projects", json={"name": "p"}).json()
    assert [p["id"] for p in client.get("/api/v1/projects").json()] == [created["id"]]
