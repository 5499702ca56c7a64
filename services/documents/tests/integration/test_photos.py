"""Photo albums over gRPC: who sees which album, uploads all or nothing, withdrawn photos gone with
their files, stored versions without GPS, thumbnail sizes, pagination, offers once per period."""

from __future__ import annotations

import json
from io import BytesIO

import grpc
import pytest
from PIL import Image
from sqlalchemy import select

from cartable.documents.v1 import documents_pb2 as pb
from kit.errors import FIELDS_KEY
from services.documents.db import outbox
from services.documents.tests.unit.test_photo_processing import png_bomb

GPS_IFD = 0x8825


def md(token):
    return [("authorization", f"Bearer {token}")]


@pytest.fixture
def people(keys):
    return {
        "staff": keys.token(role="staff", school_id="sch-1", account_id="staff-1"),
        "mum": keys.token(students={"emma": "1A"}, school_id="sch-1", account_id="mum"),
        "noahs_dad": keys.token(students={"noah": "2B"}, school_id="sch-1", account_id="noahs-dad"),
        "both": keys.token(students={"emma": "1A", "noah": "2B"}, school_id="sch-1", account_id="both"),
        "other_staff": keys.token(role="staff", school_id="sch-2", account_id="staff-2"),
        "other_school": keys.token(students={"zoe": "1A"}, school_id="sch-2", account_id="zoes-mum"),
    }


def jpeg(size=(1200, 900), color=(40, 120, 200), gps=False, orientation=None) -> bytes:
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "PhoneMaker"
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 50.0, 12.5), 3: "E", 4: (4.0, 21.0, 7.25)})
    if orientation:
        exif[0x0112] = orientation
    out = BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(size=(640, 480)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (250, 200, 10)).save(out, "PNG")
    return out.getvalue()


def create(stub, token, title="Fancy-fair", classes=(), publish=True, **kw):
    return stub.CreateAlbum(
        pb.CreateAlbumRequest(title=title, class_names=list(classes), publish=publish, **kw),
        metadata=md(token),
    ).album


def add(stub, token, album_id, *files):
    uploads = [pb.PhotoUpload(filename=f[0], content=f[1], title=f[2] if len(f) > 2 else "") for f in files]
    return list(
        stub.AddPhotos(pb.AddPhotosRequest(album_id=album_id, files=uploads), metadata=md(token)).photos
    )


def albums(stub, token, student_id=""):
    return [
        a.title
        for a in stub.ListAlbums(pb.ListAlbumsRequest(student_id=student_id), metadata=md(token)).albums
    ]


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    return exc.value


def fields_of(err: grpc.RpcError) -> dict:
    trailing: dict[str, str] = dict(err.trailing_metadata())  # type: ignore[arg-type]  # grpc's stubs type it loosely
    return json.loads(trailing[FIELDS_KEY])


def stored_files(tmp_path):
    root = tmp_path / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def open_photo(stub, token, photo_id, variant="display"):
    return stub.OpenPhoto(pb.OpenPhotoRequest(photo_id=photo_id, variant=variant), metadata=md(token))


@pytest.fixture
def school_albums(documents_stub, people):
    """Whole school, 1A, 2B, a 1A draft, an empty 1A album, and an album of another school."""
    s, out = people["staff"], {}
    for title, classes, publish in [
        ("Toute l'école", (), True),
        ("Classe 1A", ("1A",), True),
        ("Classe 2B", ("2B",), True),
        ("Brouillon 1A", ("1A",), False),
        ("Vide 1A", ("1A",), True),
    ]:
        album = create(documents_stub, s, title, classes, publish)
        photos = [] if title.startswith("Vide") else add(documents_stub, s, album.id, ("a.jpg", jpeg()))
        out[title] = (album, photos)
    other = create(documents_stub, people["other_staff"], "Autre école", ())
    out["Autre école"] = (other, add(documents_stub, people["other_staff"], other.id, ("z.jpg", jpeg())))
    return out


def test_parents_see_the_whole_schools_albums_and_their_childs_class_only(
    documents_stub, people, school_albums
):
    assert sorted(albums(documents_stub, people["mum"], "emma")) == ["Classe 1A", "Toute l'école"]
    assert sorted(albums(documents_stub, people["noahs_dad"], "noah")) == ["Classe 2B", "Toute l'école"]
    assert albums(documents_stub, people["other_school"], "zoe") == [
        "Autre école"
    ]  # same class name, other school
    # staff: every album of their school, the draft and the empty one included
    assert sorted(albums(documents_stub, people["staff"])) == [
        "Brouillon 1A",
        "Classe 1A",
        "Classe 2B",
        "Toute l'école",
        "Vide 1A",
    ]
    listed = documents_stub.ListAlbums(
        pb.ListAlbumsRequest(student_id="emma"), metadata=md(people["mum"])
    ).albums
    by_title = {a.title: a for a in listed}
    assert (
        list(by_title["Classe 1A"].class_names) == ["1A"]
        and list(by_title["Toute l'école"].class_names) == []
    )
    assert by_title["Classe 1A"].photo_count == 1
    assert by_title["Classe 1A"].cover.id == school_albums["Classe 1A"][1][0].id


def test_another_classs_or_schools_album_and_photos_answer_not_found(documents_stub, people, school_albums):
    for title in ("Classe 2B", "Brouillon 1A", "Autre école"):
        album, photos = school_albums[title]
        err = refused(
            lambda a=album: documents_stub.GetAlbum(
                pb.GetAlbumRequest(album_id=a.id, student_id="emma"), metadata=md(people["mum"])
            )
        )
        assert err.code() == grpc.StatusCode.NOT_FOUND, title
        for p in photos:
            for variant in ("thumbnail", "display"):
                err = refused(lambda p=p, v=variant: open_photo(documents_stub, people["mum"], p.id, v))
                assert err.code() == grpc.StatusCode.NOT_FOUND, (title, variant)
            err = refused(
                lambda p=p: documents_stub.GetPhoto(
                    pb.GetPhotoRequest(photo_id=p.id, student_id="emma"), metadata=md(people["mum"])
                )
            )
            assert err.code() == grpc.StatusCode.NOT_FOUND
    # another school's staff cannot reach this school's albums either
    album, photos = school_albums["Classe 1A"]
    assert (
        refused(lambda: open_photo(documents_stub, people["other_staff"], photos[0].id)).code()
        == grpc.StatusCode.NOT_FOUND
    )
    # a child the caller does not act for
    err = refused(
        lambda: documents_stub.ListAlbums(pb.ListAlbumsRequest(student_id="noah"), metadata=md(people["mum"]))
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_parent_of_two_children_lists_by_active_child_and_opens_either_childs_photos(
    documents_stub, people, school_albums
):
    assert sorted(albums(documents_stub, people["both"], "emma")) == ["Classe 1A", "Toute l'école"]
    assert sorted(albums(documents_stub, people["both"], "noah")) == ["Classe 2B", "Toute l'école"]
    for title in ("Classe 1A", "Classe 2B"):
        photo = school_albums[title][1][0]
        assert open_photo(documents_stub, people["both"], photo.id, "thumbnail").content.startswith(
            b"\xff\xd8\xff"
        )


def test_publishing_a_draft_shows_it_to_parents_and_records_the_event(
    documents_stub, documents_rt, people, school_albums
):
    draft = school_albums["Brouillon 1A"][0]
    assert draft.published_at == ""
    published = documents_stub.PublishAlbum(
        pb.PublishAlbumRequest(album_id=draft.id), metadata=md(people["staff"])
    ).album
    assert published.published_at
    assert "Brouillon 1A" in albums(documents_stub, people["mum"], "emma")
    documents_stub.PublishAlbum(
        pb.PublishAlbumRequest(album_id=draft.id), metadata=md(people["staff"])
    )  # again: no-op
    with documents_rt.db.unit_of_work() as s:
        names = s.execute(select(outbox.c.event_name)).scalars().all()
    # five albums published at creation (one per school fixture album but the draft) + the draft once
    assert names.count("documents.album.published.v1") == 6


def test_withdrawn_photo_disappears_and_its_files_are_gone(documents_stub, people, tmp_path):
    album = create(documents_stub, people["staff"], "Classe verte", ("1A",))
    first, second = add(
        documents_stub, people["staff"], album.id, ("1.jpg", jpeg()), ("2.jpg", jpeg(color=(9, 9, 9)))
    )
    assert len(stored_files(tmp_path)) == 6  # thumbnail, display and full size of each
    documents_stub.WithdrawPhoto(pb.WithdrawPhotoRequest(photo_id=first.id), metadata=md(people["staff"]))

    page = documents_stub.GetAlbum(
        pb.GetAlbumRequest(album_id=album.id, student_id="emma"), metadata=md(people["mum"])
    )
    assert [p.id for p in page.photos] == [second.id] and page.album.photo_count == 1
    assert page.album.cover.id == second.id
    for who in ("mum", "staff"):
        for variant in ("thumbnail", "display", "full"):
            err = refused(lambda w=who, v=variant: open_photo(documents_stub, people[w], first.id, v))
            assert err.code() == grpc.StatusCode.NOT_FOUND
    assert len(stored_files(tmp_path)) == 3  # the withdrawn photo's files are deleted
    assert open_photo(documents_stub, people["mum"], second.id).content
    # a browser revalidating its copy: checked, no file read, nothing sent; the withdrawn one is gone
    check = pb.OpenPhotoRequest(photo_id=second.id, variant="thumbnail", without_content=True)
    assert documents_stub.OpenPhoto(check, metadata=md(people["mum"])).content == b""
    gone = pb.OpenPhotoRequest(photo_id=first.id, variant="thumbnail", without_content=True)
    err = refused(lambda: documents_stub.OpenPhoto(gone, metadata=md(people["mum"])))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = refused(
        lambda: documents_stub.WithdrawPhoto(
            pb.WithdrawPhotoRequest(photo_id=first.id), metadata=md(people["staff"])
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_withdrawn_album_disappears_with_all_its_photos_and_files(documents_stub, people, tmp_path):
    album = create(documents_stub, people["staff"], "Carnaval", ())
    made = add(documents_stub, people["staff"], album.id, ("1.jpg", jpeg()), ("2.png", png()))
    resp = documents_stub.WithdrawAlbum(
        pb.WithdrawAlbumRequest(album_id=album.id), metadata=md(people["staff"])
    )
    assert resp.photo_count == 2
    assert (
        albums(documents_stub, people["mum"], "emma") == [] and albums(documents_stub, people["staff"]) == []
    )
    for token in (people["mum"], people["staff"]):
        err = refused(
            lambda t=token: documents_stub.GetAlbum(pb.GetAlbumRequest(album_id=album.id), metadata=md(t))
        )
        assert err.code() == grpc.StatusCode.NOT_FOUND
        for p in made:
            assert (
                refused(lambda t=token, p=p: open_photo(documents_stub, t, p.id)).code()
                == grpc.StatusCode.NOT_FOUND
            )
    assert stored_files(tmp_path) == []
    err = refused(lambda: add(documents_stub, people["staff"], album.id, ("3.jpg", jpeg())))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_stored_photos_carry_no_gps_and_are_upright(documents_stub, people, tmp_path):
    original = jpeg((1600, 1200), gps=True, orientation=6)
    assert Image.open(BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the upload does carry a position
    album = create(documents_stub, people["staff"], "Excursion", ())
    [photo] = add(documents_stub, people["staff"], album.id, ("IMG_0001.JPG", original))
    files = stored_files(tmp_path)
    assert len(files) == 3
    for path in files:  # every version the service stored
        data = path.read_bytes()
        im = Image.open(BytesIO(data))
        assert im.format == "JPEG"
        assert dict(im.getexif()) == {} and not im.getexif().get_ifd(GPS_IFD)
        assert b"GPS" not in data and b"PhoneMaker" not in data
    assert (photo.width, photo.height) == (1200, 1600)  # portrait, as the camera was held
    served = Image.open(BytesIO(open_photo(documents_stub, people["mum"], photo.id).content))
    assert served.size == (1200, 1600) and dict(served.getexif()) == {}
    assert photo.filename == "IMG_0001.jpg"


def test_thumbnails_and_display_sizes_have_the_expected_sizes(documents_stub, people):
    album = create(documents_stub, people["staff"], "Sport", ())
    big, small = add(
        documents_stub,
        people["staff"],
        album.id,
        ("big.jpg", jpeg((2400, 1200))),
        ("small.png", png((200, 150))),
    )
    assert (big.width, big.height, big.thumb_width, big.thumb_height) == (1600, 800, 320, 160)
    assert (small.width, small.height, small.thumb_width, small.thumb_height) == (200, 150, 200, 150)
    thumb = Image.open(BytesIO(open_photo(documents_stub, people["mum"], big.id, "thumbnail").content))
    assert thumb.size == (320, 160) and thumb.format == "JPEG"
    display = open_photo(documents_stub, people["mum"], big.id, "display")
    assert Image.open(BytesIO(display.content)).size == (1600, 800)
    assert display.content_type == "image/jpeg" and display.photo.size_bytes == len(display.content)
    full = open_photo(documents_stub, people["mum"], big.id, "full")
    assert Image.open(BytesIO(full.content)).size == (2400, 1200)  # the download: every pixel
    assert Image.open(BytesIO(open_photo(documents_stub, people["mum"], small.id, "full").content)).size == (
        200,
        150,
    )


def test_an_upload_declaring_too_many_pixels_in_all_is_refused_before_decoding(
    documents_stub, people, tmp_path
):
    import zlib

    out = BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    # each header says 9000 x 8000 (72 megapixels: one alone may pass); six say 432 megapixels
    data[16:24] = (9000).to_bytes(4, "big") + (8000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    album = create(documents_stub, people["staff"], "Affiches", ())
    err = refused(
        lambda: add(documents_stub, people["staff"], album.id, *[(f"{i}.png", bytes(data)) for i in range(6)])
    )
    assert err.code() == grpc.StatusCode.OUT_OF_RANGE and "megapixels" in err.details()
    assert stored_files(tmp_path) == []


def test_a_png_bomb_among_good_photos_refuses_the_upload_before_decoding_it(documents_stub, people, tmp_path):
    album = create(documents_stub, people["staff"], "Affiches", ())
    err = refused(
        lambda: add(
            documents_stub, people["staff"], album.id, ("ok.jpg", jpeg()), ("bomb.png", png_bomb(8000, 8000))
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fields_of(err) == {
        "files[1]": "bomb.png: the image is too large to process (64.0 megapixels; a PNG like it may have at "
        "most 50.3): save it as a JPEG"
    }
    assert stored_files(tmp_path) == []


def test_one_bad_file_refuses_the_whole_upload_naming_it(documents_stub, people, tmp_path):
    album = create(documents_stub, people["staff"], "Noël", ())
    good = jpeg()
    err = refused(
        lambda: add(
            documents_stub,
            people["staff"],
            album.id,
            ("sapin.jpg", good),
            ("lettre.jpg", b"Cher Saint-Nicolas"),
            ("cassée.png", png()[:60]),
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = fields_of(err)
    assert set(fields) == {"files[1]", "files[2]"}
    assert fields["files[1]"].startswith("lettre.jpg:") and fields["files[2]"].startswith("cassée.png:")
    assert "lettre.jpg" in err.details()
    page = documents_stub.GetAlbum(pb.GetAlbumRequest(album_id=album.id), metadata=md(people["staff"]))
    assert list(page.photos) == [] and page.album.photo_count == 0
    assert stored_files(tmp_path) == []
    # the same good file alone is accepted, numbered from 1
    [photo] = add(documents_stub, people["staff"], album.id, ("sapin.jpg", good))
    assert photo.number == 1


def test_uploads_over_the_size_limit_are_refused_whole(documents_stub, people, tmp_path):
    album = create(documents_stub, people["staff"], "Grand", ())
    big = jpeg() + b"\x00" * 210_000  # the test service allows 200 kB per request
    err = refused(lambda: add(documents_stub, people["staff"], album.id, ("a.jpg", jpeg()), ("b.jpg", big)))
    assert err.code() == grpc.StatusCode.OUT_OF_RANGE
    assert stored_files(tmp_path) == []


def test_only_staff_create_upload_publish_and_withdraw(documents_stub, people, school_albums):
    album, photos = school_albums["Classe 1A"]
    mum = people["mum"]
    calls = [
        lambda: create(documents_stub, mum, "Pirate"),
        lambda: add(documents_stub, mum, album.id, ("x.jpg", jpeg())),
        lambda: documents_stub.PublishAlbum(pb.PublishAlbumRequest(album_id=album.id), metadata=md(mum)),
        lambda: documents_stub.WithdrawPhoto(
            pb.WithdrawPhotoRequest(photo_id=photos[0].id), metadata=md(mum)
        ),
        lambda: documents_stub.WithdrawAlbum(pb.WithdrawAlbumRequest(album_id=album.id), metadata=md(mum)),
        lambda: documents_stub.RecordAlbumOffer(
            pb.RecordAlbumOfferRequest(album_id=album.id, period_id="p"), metadata=md(mum)
        ),
    ]
    for call in calls:
        assert refused(call).code() == grpc.StatusCode.PERMISSION_DENIED
    assert open_photo(documents_stub, mum, photos[0].id).content  # still there


def test_album_fields_are_checked(documents_stub, people):
    err = refused(
        lambda: create(documents_stub, people["staff"], "", taken_on="10/06/2026", classes=["x" * 51])
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields_of(err)) == {"title", "taken_on", "class_names"}
    album = create(
        documents_stub,
        people["staff"],
        " Fancy-fair ",
        (" 1A ", "1A", "2B"),
        event="Fête de l'école",
        taken_on="2026-06-10",
    )
    assert (album.title, album.event, album.taken_on, list(album.class_names)) == (
        "Fancy-fair",
        "Fête de l'école",
        "2026-06-10",
        ["1A", "2B"],
    )


def test_photos_come_in_upload_order_page_by_page_with_neighbours(documents_stub, people):
    album = create(documents_stub, people["staff"], "Pages", ("1A",))
    made = add(
        documents_stub,
        people["staff"],
        album.id,
        *[(f"{i}.jpg", jpeg((64, 48), (i * 40, 0, 0))) for i in range(5)],
    )
    made += add(documents_stub, people["staff"], album.id, ("5.jpg", jpeg((64, 48))))
    assert [p.number for p in made] == [1, 2, 3, 4, 5, 6]
    seen, cursor = [], ""
    for _ in range(4):
        page = documents_stub.GetAlbum(
            pb.GetAlbumRequest(album_id=album.id, student_id="emma", limit=4, cursor=cursor),
            metadata=md(people["mum"]),
        )
        seen += [p.id for p in page.photos]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [p.id for p in made]
    middle = documents_stub.GetPhoto(
        pb.GetPhotoRequest(photo_id=made[2].id, student_id="emma"), metadata=md(people["mum"])
    )
    assert (middle.previous_photo_id, middle.next_photo_id) == (made[1].id, made[3].id)
    assert middle.album.title == "Pages"
    first = documents_stub.GetPhoto(pb.GetPhotoRequest(photo_id=made[0].id), metadata=md(people["mum"]))
    assert first.previous_photo_id == ""
    err = refused(
        lambda: documents_stub.GetAlbum(
            pb.GetAlbumRequest(album_id=album.id, cursor="abc"), metadata=md(people["mum"])
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_album_is_offered_once_per_period(documents_stub, people, school_albums):
    album = school_albums["Classe 1A"][0]
    req = pb.RecordAlbumOfferRequest(album_id=album.id, period_id="period-1", price_cents=350, item_count=1)
    documents_stub.RecordAlbumOffer(req, metadata=md(people["staff"]))
    err = refused(lambda: documents_stub.RecordAlbumOffer(req, metadata=md(people["staff"])))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert dict(err.trailing_metadata())["x-error-code"] == "already_offered"
    got = documents_stub.GetAlbum(pb.GetAlbumRequest(album_id=album.id), metadata=md(people["staff"])).album
    assert list(got.offered_period_ids) == ["period-1"]


def test_an_upload_its_caller_gave_up_on_adds_nothing(documents_rt, people, tmp_path):
    from kit.errors import Unavailable
    from kit.identity import Identity
    from services.documents.app import use_cases

    uc = use_cases(documents_rt)
    staff = Identity(account_id="boss", role="staff", school_id="sch-1")
    album = uc.albums.create_album(staff, "Cross", "", "", [], True).album
    upload = pb.PhotoUpload(filename="a.jpg", content=jpeg(), title="")
    with pytest.raises(Unavailable):
        uc.photos.add_photos(staff, album.id, [upload], still_wanted=lambda: False)
    assert stored_files(tmp_path) == []  # the files written before the check are deleted again
    # still wanted: added, numbered from 1
    [made] = uc.photos.add_photos(staff, album.id, [upload], still_wanted=lambda: True).photos
    assert made.number == 1 and len(stored_files(tmp_path)) == 3
