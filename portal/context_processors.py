from portal.sections import SECTIONS


def navigation(request):
    path = request.path
    active = None
    for section in SECTIONS:
        url = section.url
        if url != "#" and (path == url or (url != "/" and path.startswith(url))):
            active = section.key
    return {"nav_sections": SECTIONS, "nav_active": active}
