def test_member_home_shows_summary(client, login_as):
    from tests.factories import demo_member

    member = demo_member("sarralbe")
    login_as("viewer", member=member)
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert "Tout fonctionne normalement" in response.get_data(as_text=True)
