from models.postocr.kr_regions import DISTRICTS, PROVINCES, snap_kr_address, snap_name


def test_misread_district_names_snap_to_the_listed_ones():
    assert snap_kr_address("층청북도 옥천군 역삼12로 325-93") == "충청북도 옥천군 역삼12로 325-93"
    assert snap_kr_address("대전정역시 관역구 오금07거리 849-24") == "대전광역시 관악구 오금07거리 849-24"
    assert snap_kr_address("세종특별자치서 서대문구 서초중앙거리 지하95") == "세종특별자치시 서대문구 서초중앙거리 지하95"
    assert snap_kr_address("제주록별자차도 동해시 오금3거리 400") == "제주특별자치도 동해시 오금3거리 400"


def test_names_are_left_alone_when_listed_ambiguous_too_far_or_past_the_number():
    assert snap_kr_address("서울특별시 강남구 테헤란로 152") == "서울특별시 강남구 테헤란로 152"
    assert snap_name("종랑구", DISTRICTS) == "종랑구"        # 중랑구 and 종로구 are both one syllable off
    assert snap_name("공대증구", DISTRICTS) == "공대증구"    # 동대문구 and 서대문구: two each
    assert snap_name("남쿠", DISTRICTS) == "남쿠"            # a short name keeps its own last syllable
    assert snap_name("부상종액시", PROVINCES) == "부상종액시"  # three syllables off 부산광역시
    assert snap_name("Seoul", PROVINCES) == "Seoul"
    # only the leading names, up to the first token with a digit: "시초구" after the number stays
    assert snap_kr_address("대전광역시 시초구 가락길 12 시초구") == "대전광역시 서초구 가락길 12 시초구"
    assert snap_kr_address("") == ""
