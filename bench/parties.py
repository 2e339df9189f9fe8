"""Names of parties for seeded cases (bench/scale_seed.py): companies of Hubei's cities, banks and
their branches, natural persons — drawn with a skew, so that a few companies have many cases and
most have a handful, as in an office's register.

Deterministic for a seed. About 200,000 companies: a city, a two-character brand, a trade and a
legal form (武汉长飞智能装备有限公司); 60 bank branches; persons as surname + one or two characters.
"""

from __future__ import annotations

import random

CITIES = ("武汉", "宜昌", "襄阳", "荆州", "黄石", "十堰", "孝感", "荆门", "鄂州", "黄冈", "咸宁", "随州", "恩施",
          "仙桃", "潜江", "天门", "神农架")
BRAND_CHARS = ("长飞光谷华中东湖楚天江汉青山金银星辰宏远鑫盛博瑞恒通汇丰达信诚安泰和康宁永兴德润嘉禾"
               "启明远航凯旋新源宇航天成海创科峰立昌联众合力云帆佳禾中南九州三峡荆楚鄂湘晨曦锦程")
TRADES = ("科技", "智能装备", "新材料", "生物医药", "光电子", "汽车零部件", "电子信息", "精密机械", "化工",
          "信息技术", "软件", "医疗器械", "环保科技", "新能源", "食品", "纺织", "建材", "农业科技")
FORMS = ("有限公司", "股份有限公司", "有限责任公司", "科技有限公司")
BANKS = ("招商银行", "中国银行", "工商银行", "建设银行", "农业银行", "交通银行", "汉口银行", "湖北银行",
         "兴业银行", "浦发银行", "中信银行", "光大银行", "民生银行", "华夏银行", "平安银行")
BRANCHES = ("武汉分行", "湖北省分行", "宜昌分行", "襄阳分行")
SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉"


class Parties:
    def __init__(self, seed: int = 7, companies: int = 200_000) -> None:
        rng = random.Random(seed)
        self.rng = random.Random(seed + 1)
        names: set[str] = set()
        while len(names) < companies:
            brand = rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS)
            names.add(rng.choice(CITIES) + brand + rng.choice(TRADES) + rng.choice(FORMS))
        self.companies = sorted(names)
        rng.shuffle(self.companies)
        self.banks = [b + br for b in BANKS for br in BRANCHES]

    def company(self) -> str:
        # Pareto-like: index = companies × u^3 puts about a fifth of the cases on 1% of the companies
        u = self.rng.random()
        return self.companies[int(len(self.companies) * u * u * u)]

    def bank(self) -> str:
        return self.rng.choice(self.banks)

    def person(self) -> str:
        n = 1 + (self.rng.random() < 0.6)
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(n))

    def name_for(self, field: str) -> str:
        """A name for a searchable field: pledgees are banks; parties mostly companies."""
        if field == "pledgee":
            return self.bank()
        return self.person() if self.rng.random() < 0.1 else self.company()
